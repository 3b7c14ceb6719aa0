/**
 * Shared parts of bench:runner: an isolated Claude Code environment against the
 * scripted model server, `cco serve` as a child process, a small HTTP client,
 * percentiles, and RSS sampling through /proc.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startModelServer, type ModelServer } from '../../src/model-server/server.ts';
import { claudeBinaryPath, claudeTestEnv } from '../../test/helpers/claude.ts';

export type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
export type Log = (line: string) => void;

export interface BenchEnv {
  dir: string;
  model: ModelServer;
  /** Server settings plus the Claude Code environment (temp CLAUDE_CONFIG_DIR and HOME). Nothing from the caller's env. */
  env: Record<string, string>;
  close(): Promise<void>;
}

export async function benchEnv(name: string, databaseUrl?: string): Promise<BenchEnv> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `cco-bench-${name}-`));
  const model = await startModelServer({ port: 0 });
  const env: Record<string, string> = {
    ...(claudeTestEnv({ baseUrl: model.url, configDir: path.join(dir, 'claude') }) as Record<string, string>),
    DATA_DIR: path.join(dir, 'data'),
    WORKSPACES_DIR: path.join(dir, 'ws'),
    ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}),
  };
  return {
    dir,
    model,
    env,
    async close() {
      await model.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface ServeChild {
  child: ChildProcess;
  url: string;
  output(): string;
  /** Resolves with the exit once the process has gone. */
  exited: Promise<void>;
}

/** `cco serve` on port 0 with exactly `env` (plus the port, log level and abuse limits off); resolves when it listens. */
export async function startServe(env: Record<string, string>, timeoutMs = 60_000): Promise<ServeChild> {
  const bin = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../../bin/cco.mjs');
  const child = spawn(process.execPath, [bin, 'serve'], { env: { ...env, PORT: '0', LOG_LEVEL: 'info', AUTH: 'off', RATE_LIMIT_PER_MIN: '0', RATE_LIMIT_HOOKS_PER_MIN: '0' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.stderr!.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-200_000)));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start: ${out.slice(-2000)}`)), timeoutMs);
    child.once('exit', (code) => reject(new Error(`server exited with ${code}: ${out.slice(-2000)}`)));
    let head = '';
    child.stdout!.on('data', (d: Buffer) => {
      const s = d.toString();
      out = (out + s).slice(-200_000);
      if (head.length < 100_000) head += s;
      const m = /"url":"(http:\/\/[^"]+)"/.exec(head);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
  });
  return { child, url, output: () => out, exited };
}

/** The MAX_CONCURRENT_RUNS the server resolved, from its "runner ready" log line. */
export function maxConcurrentRunsOf(output: string): number | null {
  const m = /"concurrency":(\d+)/.exec(output); // the runner-ready line of cco serve
  return m ? Number(m[1]) : null;
}

export async function api(base: string, method: string, url: string, body?: unknown): Promise<{ status: number; body: Json }> {
  const r = await fetch(base + url, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await r.text();
  return { status: r.status, body: text ? (JSON.parse(text) as Json) : {} };
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Nearest-rank percentile of unsorted values. */
export function percentile(values: number[], p: number): number {
  if (!values.length) return NaN;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}

export const median = (values: number[]) => percentile(values, 50);
export const round = (v: number, digits = 1) => Math.round(v * 10 ** digits) / 10 ** digits;

export const claudeExe = () => fs.realpathSync(claudeBinaryPath());

/** Resident set size of one process in MB, or 0 when it is gone. */
export function rssMb(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : 0;
  } catch {
    return 0;
  }
}

/** Every live descendant of `root` (children, grandchildren...). */
export function descendants(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (fields[0] === 'Z') continue;
      const ppid = Number(fields[1]);
      const list = children.get(ppid) ?? [];
      list.push(Number(entry));
      children.set(ppid, list);
    } catch {
      // gone meanwhile
    }
  }
  const out: number[] = [];
  const stack = [...(children.get(root) ?? [])];
  while (stack.length) {
    const pid = stack.pop()!;
    out.push(pid);
    stack.push(...(children.get(pid) ?? []));
  }
  return out;
}

function exeOf(pid: number): string | undefined {
  try {
    return fs.readlinkSync(`/proc/${pid}/exe`);
  } catch {
    return undefined;
  }
}

/** Claude Code processes under `root` (the server): the descendants running the claude binary. */
export function claudePidsUnder(root: number, exe = claudeExe()): number[] {
  return descendants(root).filter((pid) => exeOf(pid) === exe);
}

export interface RssPeaks {
  /** The server's RSS at the first sample (before the load). */
  server_start_mb: number;
  server_mb: number;
  claude_sum_mb: number;
  claude_processes: number;
  samples: number;
}

/** Samples the server's RSS and the summed RSS of its Claude Code processes every `everyMs`. */
export function sampleRss(serverPid: number, everyMs = 200): { stop(): RssPeaks } {
  const exe = claudeExe();
  const peaks: RssPeaks = { server_start_mb: round(rssMb(serverPid)), server_mb: 0, claude_sum_mb: 0, claude_processes: 0, samples: 0 };
  const tick = () => {
    peaks.samples += 1;
    peaks.server_mb = Math.max(peaks.server_mb, rssMb(serverPid));
    const claude = claudePidsUnder(serverPid, exe);
    peaks.claude_processes = Math.max(peaks.claude_processes, claude.length);
    peaks.claude_sum_mb = Math.max(peaks.claude_sum_mb, claude.reduce((sum, pid) => sum + rssMb(pid), 0));
  };
  tick();
  const timer = setInterval(tick, everyMs);
  return {
    stop() {
      clearInterval(timer);
      tick();
      return { ...peaks, server_mb: round(peaks.server_mb), claude_sum_mb: round(peaks.claude_sum_mb) };
    },
  };
}
