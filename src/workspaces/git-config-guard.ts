/**
 * Every git command the orchestrator runs in a workspace ignores the commands a
 * repository's own configuration names. A session can write its workspace's
 * .git/config (and, through a worktree, the base repository's), and git would
 * otherwise run what it finds there (core.fsmonitor on `git add`, a clean
 * filter, a textconv driver, a hook, an upload-pack command...) with the
 * server's whole environment.
 *
 * Overrides reach git as GIT_CONFIG_KEY_n/GIT_CONFIG_VALUE_n (command-line
 * scope: read last, so they win over every file, and no key is ever parsed
 * from "name=value" text). Fixed keys are overridden always; driver keys
 * (filter.<x>.*, diff.<x>.*, remote.<x>.uploadpack, credential.<url>.helper)
 * cannot be listed in advance, so the names actually configured are read first
 * with `git config --list` (reading config runs nothing) and each is overridden.
 */
import { spawn } from 'node:child_process';

/** Keys overridden on every git command, with the harmless value each gets. */
export const FIXED_OVERRIDES: readonly (readonly [string, string])[] = [
  ['core.fsmonitor', 'false'],
  ['core.hooksPath', '/dev/null'],
  ['core.pager', 'cat'],
  ['core.editor', 'true'],
  ['core.askPass', ''],
  ['core.alternateRefsCommand', 'true'],
  ['sequence.editor', 'true'],
  ['diff.external', ''],
  ['credential.helper', ''], // an empty value clears every helper configured before it
  ['submodule.recurse', 'false'],
  ['fetch.recurseSubmodules', 'false'],
  ['protocol.allow', 'never'], // GIT_ALLOW_PROTOCOL (set by gitEnv) decides; this is the fallback
  ['http.followRedirects', 'false'], // a redirect could lead a fetch to a private address
  ['gpg.program', 'false'],
];

/** Driver keys named by the repository: [pattern on the lower-cased name, harmless value]. */
const DRIVER_RULES: readonly (readonly [RegExp, string])[] = [
  [/^filter\..+\.(clean|smudge|process)$/, ''],
  [/^filter\..+\.required$/, 'false'],
  [/^diff\..+\.(textconv|command)$/, ''],
  [/^merge\..+\.driver$/, 'false'],
  [/^remote\..+\.uploadpack$/, 'git-upload-pack'],
  [/^remote\..+\.receivepack$/, 'git-receive-pack'],
  [/^credential\..+\.helper$/, ''],
  [/^protocol\..+\.allow$/, 'never'],
  [/^gpg\..+\.program$/, 'false'],
  [/^pager\..+$/, 'false'],
];

/** The overrides for the configuration names found, one per dangerous name. */
export function driverOverrides(names: readonly string[]): [string, string][] {
  const out: [string, string][] = [];
  const seen = new Set<string>();
  for (const name of names) {
    const lower = name.toLowerCase();
    if (seen.has(lower)) continue;
    const rule = DRIVER_RULES.find(([re]) => re.test(lower));
    if (!rule) continue;
    seen.add(lower);
    out.push([name, rule[1]]);
  }
  return out;
}

/**
 * The configuration names git sees in `cwd` (every scope, includes followed), or [] when they
 * cannot be read (no repository yet; a broken config makes the real command fail anyway).
 */
export function configuredNames(cwd: string, env: NodeJS.ProcessEnv, timeoutMs: number): Promise<string[]> {
  return new Promise((resolve) => {
    const child = spawn('git', ['config', '--list', '--name-only', '--includes', '-z'], { cwd, env, stdio: ['ignore', 'pipe', 'ignore'] });
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.stdout.on('data', (b: Buffer) => chunks.push(b));
    child.on('error', () => {
      clearTimeout(timer);
      resolve([]);
    });
    child.on('close', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks).toString('utf8').split('\0').filter(Boolean));
    });
  });
}

/** Appends `overrides` to the GIT_CONFIG_COUNT entries already in `env` (credentials use them too). */
export function withConfigEntries(env: Record<string, string>, overrides: readonly (readonly [string, string])[]): Record<string, string> {
  const out = { ...env };
  let n = Number(out.GIT_CONFIG_COUNT ?? '0') || 0;
  for (const [k, v] of overrides) {
    out[`GIT_CONFIG_KEY_${n}`] = k;
    out[`GIT_CONFIG_VALUE_${n}`] = v;
    n += 1;
  }
  out.GIT_CONFIG_COUNT = String(n);
  return out;
}
