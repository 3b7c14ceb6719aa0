/**
 * `npm run bench:metrics`: what a Prometheus scrape costs on a big database. Seeds N sessions (a
 * mix of statuses) and a turn each (a few queued and running) into a fresh database on a
 * PostgreSQL server, starts the server in this process (ROLE=api: no runner takes the seeded turns; AUTH=off), then times the
 * gauges' database read uncached (readStateCounts) and whole scrapes of GET /metrics over HTTP
 * (the read is cached for 5 s, so most scrapes render from memory), with the exposition's size.
 *
 *   npm run bench:metrics -- [--sessions 100000] [--scrapes 50]
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { sql } from 'kysely';
import pg from 'pg';
import { loadConfig } from '../src/config.ts';
import { readStateCounts } from '../src/db/queries/metrics.ts';
import { createLogger } from '../src/logger.ts';
import { startServer } from '../src/main.ts';

const ADMIN_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const { values } = parseArgs({ options: { sessions: { type: 'string', default: '100000' }, scrapes: { type: 'string', default: '50' } } });
const sessions = Number(values.sessions);
const scrapes = Number(values.scrapes);
if (!Number.isInteger(sessions) || sessions < 1 || !Number.isInteger(scrapes) || scrapes < 1) throw new Error('--sessions and --scrapes must be positive integers');

const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;
const ms = (x: number) => `${x.toFixed(2)} ms`;

const name = `cco_bench_metrics_${randomBytes(4).toString('hex')}`;
const admin = new pg.Client({ connectionString: ADMIN_URL });
await admin.connect();
await admin.query(`create database ${name}`);
const url = new URL(ADMIN_URL);
url.pathname = `/${name}`;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cco-bench-metrics-'));
const server = await startServer(
  loadConfig({ DATABASE_URL: url.toString(), DATA_DIR: dir, PORT: '0', ROLE: 'api', AUTH: 'off', LOG_LEVEL: 'silent', RATE_LIMIT_PER_MIN: '0' }),
  createLogger('silent', { pretty: false }),
);
try {
  // No runner in this process (ROLE=api): the seeded queued and running turns stay as they are.
  const t0 = performance.now();
  const db = server.database.db;
  await sql`insert into sessions (id, project_path, project_type, status, source, metadata)
    select gen_random_uuid(), '/srv/work/p' || i, 'local', (array['active','paused','completed','error'])[1 + i % 4], 'api', '{}'::jsonb
    from generate_series(1, ${sessions}::int) i`.execute(db);
  await sql`insert into turns (session_id, prompt, status)
    select id, 'p', case when random() < 0.001 then 'queued' when random() < 0.001 then 'running' else 'completed' end from sessions`.execute(db);
  await sql`analyze sessions`.execute(db);
  await sql`analyze turns`.execute(db);
  console.log(`seeded ${sessions} sessions and turns in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

  const reads: number[] = [];
  for (let i = 0; i < scrapes; i++) {
    const s = performance.now();
    await readStateCounts(server.database.db);
    reads.push(performance.now() - s);
  }
  const scrapeTimes: number[] = [];
  let bytes = 0;
  for (let i = 0; i < scrapes; i++) {
    const s = performance.now();
    const r = await fetch(`${server.url}/metrics`);
    const text = await r.text();
    scrapeTimes.push(performance.now() - s);
    if (r.status !== 200) throw new Error(`GET /metrics: ${r.status} ${text}`);
    bytes = Buffer.byteLength(text);
  }
  console.log(`gauge read (uncached, ${scrapes}x): p50 ${ms(pct(reads, 50))}, p99 ${ms(pct(reads, 99))}, max ${ms(Math.max(...reads))}`);
  console.log(`GET /metrics (${scrapes}x, read cached 5 s): p50 ${ms(pct(scrapeTimes, 50))}, p99 ${ms(pct(scrapeTimes, 99))}, max ${ms(Math.max(...scrapeTimes))}; ${bytes} bytes`);
} finally {
  await server.stop();
  await admin.query(`drop database if exists ${name} with (force)`);
  await admin.end();
  fs.rmSync(dir, { recursive: true, force: true });
}
