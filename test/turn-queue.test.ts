import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import readline from 'node:readline';
import { after, afterEach, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { createLogger } from '../src/logger.ts';
import { TurnQueue, type TurnJob, type TurnQueueOptions } from '../src/queue/turn-queue.ts';
import { createTestDb, type TestDb } from './helpers/db.ts';

const log = createLogger(process.env.TEST_LOG_LEVEL ?? 'silent', { pretty: false });
let tdb: TestDb;
const queues: TurnQueue[] = [];

before(async () => {
  tdb = await createTestDb();
});
// Every test's queues stop after it, so a failed test's workers cannot take the next test's jobs.
afterEach(async () => {
  await Promise.all(queues.splice(0).map((q) => q.stop(2000)));
});
after(async () => {
  await tdb.close();
});

async function openQueue(opts: Partial<TurnQueueOptions> = {}): Promise<TurnQueue> {
  const q = new TurnQueue({ connectionString: tdb.url!, log, superviseSeconds: 1, pollingSeconds: 0.5, ...opts });
  queues.push(q);
  await q.start();
  return q;
}

async function until(what: string, cond: () => boolean, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

let seq = 0;
const sid = (name: string) => `${name}-${process.pid}-${++seq}`;

test('FIFO per session and one running turn per session across two queue instances on one database', async () => {
  const [a, b] = [await openQueue(), await openQueue()];
  const sessions = [0, 1, 2, 3].map(() => sid('fifo'));
  for (let t = 0; t < 4; t++) for (const s of sessions) await a.enqueue(s, `t${t}`);
  const started = new Map<string, string[]>();
  const active = new Map<string, number>();
  let maxPerSession = 0;
  let running = 0;
  let maxRunning = 0;
  const handler = (who: string) => async (job: TurnJob) => {
    active.set(job.sessionId, (active.get(job.sessionId) ?? 0) + 1);
    maxPerSession = Math.max(maxPerSession, active.get(job.sessionId)!);
    maxRunning = Math.max(maxRunning, ++running);
    started.set(job.sessionId, [...(started.get(job.sessionId) ?? []), `${job.turnId}@${job.attempt}`]);
    await sleep(40 + (who === 'a' ? 0 : 15));
    running--;
    active.set(job.sessionId, active.get(job.sessionId)! - 1);
  };
  await a.work(2, handler('a'));
  await b.work(2, handler('b'));
  await until('all 16 turns', () => [...started.values()].flat().length === 16 && running === 0);
  await sleep(300); // nothing runs twice afterwards
  for (const s of sessions) assert.deepEqual(started.get(s), ['t0@0', 't1@0', 't2@0', 't3@0'], `order of ${s}`);
  assert.equal(maxPerSession, 1, 'never two running turns of one session');
  assert.ok(maxRunning > 1 && maxRunning <= 4, `sessions ran side by side within 2x2 workers (max ${maxRunning})`);
  await Promise.all([a.stop(), b.stop()]);
});

test('different sessions run in parallel up to the concurrency, no further', async () => {
  const q = await openQueue();
  for (let i = 0; i < 5; i++) await q.enqueue(sid('par'), 't0');
  let running = 0;
  let maxRunning = 0;
  let done = 0;
  await q.work(3, async () => {
    maxRunning = Math.max(maxRunning, ++running);
    await sleep(400);
    running--;
    done++;
  });
  await until('5 turns', () => done === 5);
  assert.equal(maxRunning, 3);
  await q.stop();
});

test('a session\'s next turn starts as soon as the previous one ends, not at the next poll', async () => {
  const q = await openQueue({ pollingSeconds: 30 });
  const s = sid('wake');
  for (const t of ['t0', 't1', 't2']) await q.enqueue(s, t);
  const seen: string[] = [];
  const began = Date.now();
  await q.work(1, async (job) => {
    seen.push(job.turnId);
  });
  await until('three turns', () => seen.length === 3, 5000);
  assert.deepEqual(seen, ['t0', 't1', 't2']);
  assert.ok(Date.now() - began < 3000, `took ${Date.now() - began} ms`);
  await q.stop();
});

test('stop() is idempotent, waits for a running handler, and refuses new turns after', async () => {
  const q = await openQueue();
  const s = sid('stop');
  let finished = false;
  let began = false;
  await q.enqueue(s, 't0');
  await q.work(1, async (_job, signal) => {
    began = true;
    await sleep(700);
    finished = !signal.aborted;
  });
  await until('start', () => began);
  const [p1, p2] = [q.stop(5000), q.stop(5000)];
  assert.equal(p1, p2, 'concurrent stops share one promise');
  await p1;
  assert.equal(finished, true, 'the handler ran to its end before stop() resolved');
  await q.stop();
  await assert.rejects(q.enqueue(s, 't1'), { code: 'queue_not_running' });
  const other = await openQueue();
  assert.deepEqual(await other.sessionJobs(s), [{ turnId: 't0', state: 'completed', attempt: 0 }]);
});

test('a handler that throws hands its turn to a retry marked as a later attempt; the session then goes on', async () => {
  const q = await openQueue();
  const s = sid('throw');
  await q.enqueue(s, 't0');
  await q.enqueue(s, 't1');
  const seen: string[] = [];
  await q.work(2, async (job) => {
    seen.push(`${job.turnId}@${job.attempt}`);
    if (job.attempt === 0 && job.turnId === 't0') throw new Error('scripted failure');
  });
  await until('t1', () => seen.includes('t1@0'));
  assert.deepEqual(seen, ['t0@0', 't0@1', 't1@0']);
  await q.stop();
});

test('dropSession cancels queued turns and unblocks a session held by a failed turn', async () => {
  const q = await openQueue({ retryLimit: 0 });
  const s = sid('drop');
  const idle = sid('idle');
  for (const t of ['t0', 't1', 't2']) await q.enqueue(idle, t);
  assert.deepEqual((await q.dropSession(idle)).sort(), ['t0', 't1', 't2']);
  assert.deepEqual((await q.sessionJobs(idle)).map((j) => j.state), ['cancelled', 'cancelled', 'cancelled']);

  const seen: string[] = [];
  await q.enqueue(s, 't0');
  await q.enqueue(s, 't1');
  await q.work(1, async (job) => {
    seen.push(job.turnId);
    if (job.turnId === 't0') throw new Error('scripted failure');
  });
  await until('t0 failed', () => seen.includes('t0'));
  await sleep(1500); // t1 stays behind the failed t0 (key_strict_fifo)
  assert.deepEqual(seen, ['t0']);
  assert.deepEqual((await q.dropSession(s)).sort(), ['t0', 't1']);
  await q.enqueue(s, 't2');
  await until('t2 runs', () => seen.includes('t2'));
  assert.deepEqual(seen, ['t0', 't2']);
  await q.stop();
});

function startWorker(): { child: ChildProcess; events: Array<Record<string, unknown>> } {
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/helpers/turn-queue-worker.ts', tdb.url!], { stdio: ['ignore', 'pipe', 'inherit'] });
  const events: Array<Record<string, unknown>> = [];
  readline.createInterface({ input: child.stdout! }).on('line', (l) => events.push(JSON.parse(l) as Record<string, unknown>));
  return { child, events };
}

async function killWorker(child: ChildProcess): Promise<void> {
  child.kill('SIGKILL');
  if (child.exitCode === null && child.signalCode === null) await once(child, 'exit');
}

test('a worker cut off from the database stops its turn before another worker can take it (#555)', { timeout: 60_000 }, async () => {
  const s = sid('partition');
  const { child, events } = startWorker();
  try {
    await until('child ready', () => events.some((e) => e.event === 'ready'), 30_000);
    const q = await openQueue();
    await q.enqueue(s, 't0');
    await until('child started t0', () => events.some((e) => e.event === 'started'));
    child.kill('SIGUSR2');
    await until('partitioned', () => events.some((e) => e.event === 'partitioned'));
    const taken: number[] = [];
    await q.work(1, async (job) => {
      if (job.turnId === 't0' && job.attempt === 1) taken.push(Date.now());
    });
    await until('t0 retried here', () => taken.length === 1, 30_000);
    const aborted = events.find((e) => e.event === 'aborted');
    assert.ok(aborted, 'the cut-off handler was aborted');
    assert.match(String(aborted.reason), /not confirmed in time/);
    assert.ok((aborted.at as number) < taken[0]!, `aborted at ${aborted.at as number}, before the retry started at ${taken[0]}`);
    console.log(`# cut-off handler stopped ${taken[0]! - (aborted.at as number)} ms before the retry started elsewhere`);
    await q.stop();
  } finally {
    await killWorker(child);
  }
});

test('a frozen worker loses its turn within heartbeat + supervise; its handler is aborted when it wakes (#555)', { timeout: 60_000 }, async () => {
  const s = sid('frozen');
  const { child, events } = startWorker();
  try {
    await until('child ready', () => events.some((e) => e.event === 'ready'), 30_000);
    const q = await openQueue();
    await q.enqueue(s, 't0');
    await q.enqueue(s, 't1');
    await until('child started t0', () => events.some((e) => e.event === 'started' && e.turnId === 't0'));
    child.kill('SIGSTOP');
    const frozenAt = Date.now();
    const seen: Array<{ turn: string; at: number }> = [];
    await q.work(1, async (job) => {
      seen.push({ turn: `${job.turnId}@${job.attempt}`, at: Date.now() - frozenAt });
    });
    await until('t0 retried here', () => seen.length === 2, 30_000);
    assert.deepEqual(seen.map((x) => x.turn), ['t0@1', 't1@0'], 'the retry comes first and says it is a later attempt');
    // pg-boss: heartbeatSeconds >= 10; the monitor runs every superviseSeconds (1 here).
    assert.ok(seen[0]!.at < 10_000 + 1_000 + 5_000, `taken over after ${seen[0]!.at} ms`);
    console.log(`# frozen worker's turn taken over after ${seen[0]!.at} ms`);
    child.kill('SIGCONT');
    await until('child aborted t0', () => events.some((e) => e.event === 'aborted' && e.turnId === 't0'), 5000);
    assert.equal(events.filter((e) => e.event === 'started').length, 1, 'the frozen worker never took t1');
    await q.stop();
  } finally {
    await killWorker(child);
  }
});
