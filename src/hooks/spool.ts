/**
 * The forwarder's spool, seen from Node: what is queued, what the server
 * rejected, whether a delivery worker runs; and a foreground flush, which runs
 * the same script as the hooks so there is one delivery implementation.
 *
 * Layout: queue/<epoch-ns>-<pid>-<Event>.json (one hook payload each) and its
 * empty .ok marker, written once the payload is whole (delivered in name order);
 * rejected/ (answered 400/413/415/422; kept for inspection),
 * lock/pid (the running worker), deliver.log (one line per outage or rejection).
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { PACKAGED_SCRIPT } from './installer.ts';

export interface SpoolState {
  dir: string;
  queued: number;
  rejected: number;
  /** Age of the oldest queued event, ms. */
  oldestAgeMs: number | undefined;
  workerPid: number | undefined;
}

const filesEnding = (dir: string, ext: string) => {
  try {
    return fs.readdirSync(dir).filter((f) => f.endsWith(ext)).sort();
  } catch {
    return [];
  }
};

export function inspectSpool(dir: string): SpoolState {
  const queue = filesEnding(path.join(dir, 'queue'), '.ok');
  const first = queue[0];
  const ns = first ? Number(first.split('-')[0]) : NaN;
  let workerPid: number | undefined;
  try {
    const pid = Number(fs.readFileSync(path.join(dir, 'lock', 'pid'), 'utf8').trim().split(/\s+/)[0]); // "<pid> <boot id>"
    process.kill(pid, 0);
    workerPid = pid;
  } catch {
    workerPid = undefined;
  }
  return {
    dir,
    queued: queue.length,
    rejected: filesEnding(path.join(dir, 'rejected'), '.json').length,
    oldestAgeMs: Number.isFinite(ns) ? Math.max(0, Date.now() - ns / 1e6) : undefined,
    workerPid,
  };
}

/**
 * Delivers the queue in the foreground, retrying once a second while the server
 * is down, until it is empty or `waitMs` has passed. Resolves with what is left.
 */
export async function flushSpool(opts: { url: string; spoolDir: string; waitMs: number; signal?: AbortSignal }): Promise<SpoolState> {
  const deadline = Date.now() + opts.waitMs;
  for (;;) {
    const code = await runScript(['--url', opts.url, '--spool', opts.spoolDir, '--flush']);
    if (code === 0 || Date.now() >= deadline || opts.signal?.aborted) break;
    await new Promise((r) => setTimeout(r, Math.min(1000, Math.max(0, deadline - Date.now()))));
  }
  return inspectSpool(opts.spoolDir);
}

function runScript(args: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn('sh', [PACKAGED_SCRIPT, ...args], { stdio: ['ignore', 'ignore', 'inherit'] });
    child.on('error', reject);
    child.on('close', (code) => resolve(code ?? 1));
  });
}
