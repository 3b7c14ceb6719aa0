/**
 * The environment Claude Code runs with: an explicit allow-list of the server's
 * variables (provider keys, Claude Code switches), the deployment's env file, and
 * the markers our hook forwarder uses to skip runs the runner records itself.
 */
import fs from 'node:fs';
import { MIN_SECRET_LENGTH, redact, SECRET_NAME } from '../lib/secrets.ts';

/** Parses a KEY=VALUE file (comments, blank lines, optional quotes, `export` prefix). */
export function parseEnvFile(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const m = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$/.exec(line);
    if (!m) continue;
    let value = m[2] ?? '';
    if ((value.startsWith('"') && value.endsWith('"')) || (value.startsWith("'") && value.endsWith("'"))) value = value.slice(1, -1);
    out[m[1]!] = value;
  }
  return out;
}

export function readEnvFile(file: string | undefined): Record<string, string> {
  if (!file) return {};
  try {
    return parseEnvFile(fs.readFileSync(file, 'utf8'));
  } catch (e: unknown) {
    throw new Error(`Cannot read CLAUDE_ENV_FILE ${file}: ${(e as Error).message}`, { cause: e });
  }
}

export function buildClaudeEnv(opts: {
  passEnv: Record<string, string>;
  fileEnv: Record<string, string>;
  sessionId: string;
  turnId: number;
  bypassPermissions: boolean;
}): Record<string, string> {
  return {
    // Subagents that finish in the background would outlive the turn; run them inline.
    CLAUDE_CODE_DISABLE_BACKGROUND_TASKS: '1',
    ...opts.passEnv,
    ...opts.fileEnv,
    CCO_MANAGED_RUN: '1',
    CCO_SESSION_ID: opts.sessionId,
    // Marks every process of this turn (tool children inherit it): crash recovery finds leftovers by it.
    // The session uuid makes it unique across databases on one machine.
    CCO_TURN: turnMarker(opts.sessionId, opts.turnId),
    // Claude Code refuses bypassPermissions as root unless told it is sandboxed; the caller asked for it explicitly.
    ...(opts.bypassPermissions ? { IS_SANDBOX: '1' } : {}),
  };
}

/**
 * Values that must never appear in stored text: every secret-looking value of Claude Code's
 * environment, plus `known`, the secrets the server itself holds (config's runner.secrets), which a
 * tool can read from the server's environment through /proc although Claude Code never had them.
 */
export function secretValues(env: Record<string, string>, known: readonly string[] = []): string[] {
  const own = Object.entries(env)
    .filter(([k, v]) => SECRET_NAME.test(k) && v.length >= MIN_SECRET_LENGTH)
    .map(([, v]) => v);
  return [...new Set([...own, ...known])];
}

export { redact };

export const turnMarker = (sessionId: string, turnId: number) => `${sessionId}/${turnId}`;
