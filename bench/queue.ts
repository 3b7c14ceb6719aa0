/**
 * `npm run bench:queue`: what the job queue (src/queue/turn-queue.ts, issue 12) costs per turn.
 * N one-step jobs (the handler returns at once) across M sessions, enqueued at a steady rate below
 * capacity, taken by 1 and by 2 TurnQueue instances (standing for runner processes; same process, so
 * CPU is theirs together plus the enqueuer's). Per setting: enqueue -> handler start latency
 * p50/p95/max, database statements per job (every query any pg client of this process sent, polling
 * and heartbeats included) and client CPU ms per job. A fresh database per setting.
 *
 *   npm run bench:queue -- [--jobs 200] [--sessions 40] [--rate 50] [--concurrency 4]
 *                          [--workers 1,2] [--backend embedded|postgres|both]
 *
 * postgres uses TEST_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/postgres).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { initCluster, startEmbeddedPostgres, type EmbeddedPostgres } from '../src/db/embedded-postgres.ts';
import { createLogger } from '../src/logger.ts';
import { TurnQueue } from '../src/queue/turn-queue.ts';

const { values } = parseArgs({
  options: {
    jobs: { type: 'string', default: '200' },
    sessions: { type: 'string', default: '40' },
    rate: { type: 'string', default: '50' },
    concurrency: { type: 'string', default: '4' },
    workers: { type: 'string', default: '1,2' },
    backend: { type: 'string', default: 'embedded' },
  },
});
const int = (name: string, raw: string) => {
  const v = Number(raw);
  if (!Number.isInteger(v) || v <= 0) throw new Error(`--${name} must be a positive integer, got ${raw}`);
  return v;
};
const JOBS = int('jobs', values.jobs);
const SESSIONS = int('sessions', values.sessions);
const RATE = int('rate', values.rate);
const CONCURRENCY = int('concurrency', values.concurrency);
const WORKERS = values.workers.split(',').map((w) => int('workers', w));
if (!['embedded', 'postgres', 'both'].includes(values.backend)) throw new Error('--backend must be embedded, postgres or both');
const BACKENDS = values.backend === 'both' ? ['embedded', 'postgres'] : [values.backend];
const log = createLogger('warn', { pretty: false });

// Every statement any pg client sends from this process (pg-boss holds its own pools).
let statements = 0;
const query = pg.Client.prototype.query;
pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
  statements++;
  return (query as (...a: unknown[]) => unknown).apply(this, args);
} as typeof query;

interface Row {
  backend: string;
  workers: number;
  jobs: number;
  p50: number;
  p95: number;
  max: number;
  statementsPerJob: number;
  cpuMsPerJob: number;
  jobsPerSecond: number;
}

const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function freshDatabase(adminUrl: string): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `cco_bench_queue_${process.pid}_${Date.now()}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  const u = new URL(adminUrl);
  u.pathname = `/${name}`;
  return {
    url: u.toString(),
    async drop() {
      const a = new pg.Client({ connectionString: adminUrl });
      await a.connect();
      await a.query(`drop database if exists ${name} with (force)`);
      await a.end();
    },
  };
}

async function runOne(backend: string, url: string, workers: number): Promise<Row> {
  const queues = Array.from({ length: workers }, () => new TurnQueue({ connectionString: url, log }));
  await Promise.all(queues.map((q) => q.start()));
  const enqueuedAt = new Map<string, number>();
  const latencies: number[] = [];
  let done = 0;
  for (const q of queues) {
    await q.work(CONCURRENCY, async (job) => {
      const t0 = enqueuedAt.get(job.turnId);
      if (t0 !== undefined) latencies.push(performance.now() - t0);
      done++;
    });
  }
  // Warm-up: one job through each path before counting.
  enqueuedAt.clear();
  await queues[0]!.enqueue('warm', 'warm');
  while (done < 1) await sleep(10);
  done = 0;
  latencies.length = 0;
  const s0 = statements;
  const cpu0 = process.cpuUsage();
  const started = performance.now();
  for (let i = 0; i < JOBS; i++) {
    const turnId = `t${i}`;
    const due = started + (i * 1000) / RATE;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
    enqueuedAt.set(turnId, performance.now());
    await queues[i % workers]!.enqueue(`s${i % SESSIONS}`, turnId);
  }
  while (done < JOBS) await sleep(5);
  const elapsed = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const used = statements - s0;
  await Promise.all(queues.map((q) => q.stop(5000)));
  latencies.sort((a, b) => a - b);
  return {
    backend,
    workers,
    jobs: JOBS,
    p50: +pct(latencies, 50).toFixed(1),
    p95: +pct(latencies, 95).toFixed(1),
    max: +latencies[latencies.length - 1]!.toFixed(1),
    statementsPerJob: +(used / JOBS).toFixed(2),
    cpuMsPerJob: +((cpu.user + cpu.system) / 1000 / JOBS).toFixed(2),
    jobsPerSecond: +(JOBS / elapsed).toFixed(1),
  };
}

async function main(): Promise<void> {
  const rows: Row[] = [];
  for (const backend of BACKENDS) {
    let server: EmbeddedPostgres | undefined;
    let dir: string | undefined;
    let adminUrl = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
    if (backend === 'embedded') {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cco-bench-queue-'));
      await initCluster(path.join(dir, 'postgres'), { sync: false });
      server = await startEmbeddedPostgres(path.join(dir, 'postgres'), { keepsProcessAlive: false });
      adminUrl = server.url;
    }
    try {
      for (const workers of WORKERS) {
        const db = await freshDatabase(adminUrl);
        try {
          const row = await runOne(backend, db.url, workers);
          rows.push(row);
          console.error(JSON.stringify(row));
        } finally {
          await db.drop();
        }
      }
    } finally {
      await server?.stop();
      if (dir) fs.rmSync(dir, { recursive: true, force: true });
    }
  }
  console.log(`\n${JOBS} one-step jobs over ${SESSIONS} sessions at ${RATE}/s, concurrency ${CONCURRENCY} per worker\n`);
  console.log('| backend | workers | p50 ms | p95 ms | max ms | statements/job | client CPU ms/job | jobs/s |');
  console.log('|---|---|---|---|---|---|---|---|');
  for (const r of rows) console.log(`| ${r.backend} | ${r.workers} | ${r.p50} | ${r.p95} | ${r.max} | ${r.statementsPerJob} | ${r.cpuMsPerJob} | ${r.jobsPerSecond} |`);
}

await main();
