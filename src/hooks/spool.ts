/**
 * The forwarder's spool, seen from Node: what is queued, what was dead-lettered,
 * whether a delivery worker runs; and a foreground flush, which runs the same
 * script as the hooks so there is one delivery implementation.
 *
 * Layout: queue/<epoch-ns>-<pid>-<random>-<Event>.json (one hook payload each; the
 * name is also the event id sent to the server) and its empty .ok marker, written
 * once the payload is whole (delivered in name order); queue/<id>.tries
 * ("<n> <last answer>") and <id>.last (the last answer body) while an event fails;
 * dead/<id>.json with dead/<id>.reason (events set aside: the answer, the number of
 * tries, the start of the server's answer body); worker.lock ("<pid> <boot id>
 * <start time>", the running worker); deliver.log (one line per outage or dead letter).
 * rejected/ is where earlier versions put refused events; they count as dead letters.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { PACKAGED_SCRIPT } from './installer.ts';

export interface DeadLetter {
  id: string;
  /** When it was set aside, ms ago. */
  ageMs: number;
  /** "http 403, 4 tries", then the start of the server's answer, on one line. */
  reason: string;
}

export interface SpoolState {
  dir: string;
  queued: number;
  /** Age of the oldest queued event, ms. */
  oldestAgeMs: number | undefined;
  /** The oldest queued event's failures so far ("3 http 500"), when it has failed. */
  headFailing: string | undefined;
  dead: number;
  newestDead: DeadLetter | undefined;
  workerPid: number | undefined;
}

const filesEnding = (dir: string, ext: string) => {
  try {
    return fs.readdirSync(dir).filter((f) => f.endsWith(ext)).sort();
  } catch {
    return [];
  }
};

const readOr = (file: string, fallback: string) => {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return fallback;
  }
};

function newestDead(dir: string): DeadLetter | undefined {
  let best: { id: string; file: string; mtimeMs: number } | undefined;
  for (const sub of ['dead', 'rejected']) {
    for (const f of filesEnding(path.join(dir, sub), '.json')) {
      const file = path.join(dir, sub, f);
      const mtimeMs = fs.statSync(file, { throwIfNoEntry: false })?.mtimeMs ?? 0;
      if (!best || mtimeMs >= best.mtimeMs) best = { id: f.slice(0, -'.json'.length), file, mtimeMs };
    }
  }
  if (!best) return undefined;
  const [summary = '', ...body] = readOr(best.file.replace(/\.json$/, '.reason'), 'refused (set aside by an earlier version, no reason kept)').split('\n');
  const answer = body.join(' ').replace(/\s+/g, ' ').trim();
  return { id: best.id, ageMs: Math.max(0, Date.now() - best.mtimeMs), reason: `${summary.trim()}${answer ? `: ${answer}` : ''}`.slice(0, 300) };
}

export function inspectSpool(dir: string): SpoolState {
  const queue = filesEnding(path.join(dir, 'queue'), '.ok');
  const first = queue[0];
  const ns = first ? Number(first.split('-')[0]) : NaN;
  const tries = first ? readOr(path.join(dir, 'queue', first.replace(/\.ok$/, '.tries')), '').trim() : '';
  let workerPid: number | undefined;
  try {
    const pid = Number(fs.readFileSync(path.join(dir, 'worker.lock'), 'utf8').trim().split(/\s+/)[0]); // "<pid> <boot id> <start time>"
    process.kill(pid, 0);
    workerPid = pid;
  } catch {
    workerPid = undefined;
  }
  return {
    dir,
    queued: queue.length,
    oldestAgeMs: Number.isFinite(ns) ? Math.max(0, Date.now() - ns / 1e6) : undefined,
    headFailing: tries || undefined,
    dead: filesEnding(path.join(dir, 'dead'), '.json').length + filesEnding(path.join(dir, 'rejected'), '.json').length,
    newestDead: newestDead(dir),
    workerPid,
  };
}

/**
 * Puts dead-lettered events back at their place in the queue (their names, so
 * their order and event ids, are kept) for `cco hooks flush --retry-dead`.
 */
export function requeueDead(dir: string): number {
  let n = 0;
  const queue = path.join(dir, 'queue');
  fs.mkdirSync(queue, { recursive: true, mode: 0o700 });
  for (const sub of ['dead', 'rejected']) {
    for (const f of filesEnding(path.join(dir, sub), '.json')) {
      const id = f.slice(0, -'.json'.length);
      fs.renameSync(path.join(dir, sub, f), path.join(queue, f));
      fs.writeFileSync(path.join(queue, `${id}.ok`), '', { mode: 0o600 });
      fs.rmSync(path.join(dir, sub, `${id}.reason`), { force: true });
      n++;
    }
  }
  return n;
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
