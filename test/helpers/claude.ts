/**
 * Runs the real Claude Code binary (shipped by @anthropic-ai/claude-agent-sdk)
 * against the scripted model server, isolated from the user's ~/.claude.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/** Absolute path of the `claude` binary the Agent SDK ships for this platform. */
export function claudeBinaryPath(): string {
  return require.resolve('@anthropic-ai/claude-agent-sdk-linux-x64/claude');
}

/** A minimal, explicit environment: nothing from the caller's Claude Code setup leaks in. */
export function claudeTestEnv(opts: { baseUrl: string; configDir: string; extra?: Record<string, string> }): NodeJS.ProcessEnv {
  // Claude Code's Bash tool runs a login shell that sources ~/.bashrc. The developer's
  // own shell setup (pyenv's rehash lock, for one) must not slow or break the tests.
  const home = path.join(opts.configDir, 'home');
  fs.mkdirSync(home, { recursive: true });
  return {
    PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
    HOME: home,
    ANTHROPIC_BASE_URL: opts.baseUrl,
    ANTHROPIC_API_KEY: 'sk-fake',
    CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
    DISABLE_AUTOUPDATER: '1',
    CLAUDE_CONFIG_DIR: opts.configDir,
    ...opts.extra,
  };
}

/** One line of `--output-format stream-json`; fields vary by `type`. */
export type StreamMessage = { type: string; subtype?: string; session_id?: string } & Record<string, unknown>;

export interface ClaudePrintResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  messages: StreamMessage[];
  stderr: string;
}

/**
 * Spawns `claude -p <prompt> --output-format stream-json --verbose [...args]` and
 * collects its stream until it exits. stdin is closed: an open pipe costs 3 s.
 */
export function runClaudePrint(opts: {
  prompt: string;
  cwd: string;
  env: NodeJS.ProcessEnv;
  args?: string[];
  timeoutMs?: number;
}): Promise<ClaudePrintResult> {
  const argv = ['-p', opts.prompt, '--output-format', 'stream-json', '--verbose', ...(opts.args ?? [])];
  return new Promise((resolve, reject) => {
    const child = spawn(claudeBinaryPath(), argv, { cwd: opts.cwd, env: opts.env, stdio: ['ignore', 'pipe', 'pipe'] });
    const messages: StreamMessage[] = [];
    let stdoutRest = '';
    let stderr = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
    }, opts.timeoutMs ?? 30_000);
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      stdoutRest += chunk;
      const lines = stdoutRest.split('\n');
      stdoutRest = lines.pop() ?? '';
      for (const line of lines) if (line.trim()) messages.push(parseLine(line));
    });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      stderr += chunk;
    });
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (stdoutRest.trim()) messages.push(parseLine(stdoutRest));
      resolve({ code, signal, messages, stderr });
    });
  });
}

function parseLine(line: string): StreamMessage {
  try {
    return JSON.parse(line) as StreamMessage;
  } catch {
    return { type: 'unparsed', line };
  }
}

/** The content blocks of every message of one role in a stream, in order. */
export function contentBlocks(messages: StreamMessage[], type: 'assistant' | 'user'): Array<Record<string, unknown>> {
  return messages
    .filter((m) => m.type === type)
    .flatMap((m) => {
      const content = (m.message as { content?: unknown } | undefined)?.content;
      return Array.isArray(content) ? (content as Array<Record<string, unknown>>) : [];
    });
}

/** The `result` messages of a run (one per turn). */
export const resultsOf = (messages: StreamMessage[]) => messages.filter((m) => m.type === 'result');
