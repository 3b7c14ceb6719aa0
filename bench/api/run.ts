/**
 * One backend's benchmark: a fresh database (a new PostgreSQL database, or a
 * embedded PostgreSQL in a temp dir), migrated and seeded; then the real server
 * (startServer with a loadConfig config) measured over HTTP from a child process;
 * then everything is removed again.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sql, type Kysely } from 'kysely';
import pg from 'pg';
import { loadConfig, type Config } from '../../src/config.ts';
import { openDatabase, type Backend, type Database } from '../../src/db/database.ts';
import { migrate } from '../../src/db/migrate.ts';
import type { DB } from '../../src/db/schema.ts';
import { encodeCursor } from '../../src/lib/cursor.ts';
import { createLogger } from '../../src/logger.ts';
import { startServer } from '../../src/main.ts';
import { measureAuthOverhead, type AuthOverhead } from './auth-overhead.ts';
import { measureHookBatches, type HookBatchFigures } from './hook-batches.ts';
import { LoadClient } from './load-client.ts';
import { median, percentile, type LoadJob, type LoadResult } from './load.ts';
import { benchClaudeSessionId, benchSessionId, datasetFor, seed, type DatasetSize, type SeedTimings } from './seed.ts';

export interface ApiBenchOptions {
  scale: number;
  /** Measured requests per read scenario. */
  readRequests: number;
  hookEvents: number;
  hookConcurrency: number;
  /** Events/s the batch scenario's senders offer together; 0: as fast as answered. */
  hookBatchRate: number;
  repeat: number;
  /** PostgreSQL server where the bench database is created (and dropped). */
  adminUrl: string;
  log(line: string): void;
}

export const PAGE_LIMIT = 50;
export const READ_SCENARIOS = ['list_first', 'list_deep', 'messages_first', 'messages_last'] as const;
export type ReadScenario = (typeof READ_SCENARIOS)[number];

export interface Latency {
  n: number;
  errors: number;
  mean_ms: number;
  p50_ms: number;
  p95_ms: number;
  p99_ms: number;
  /** CPU time per request of the server process (HTTP, domain, pg client)... */
  server_cpu_ms: number;
  /** ...of the PostgreSQL backends serving the bench database (embedded: its postgres processes)... */
  db_cpu_ms: number;
  /** ...and of the load generator. */
  client_cpu_ms: number;
}
export interface HookFigures extends Latency {
  concurrency: number;
  seconds: number;
  events_per_s: number;
}
export type RunFigures = Record<ReadScenario, Latency> & { hooks: HookFigures; hook_batches: HookBatchFigures };

export interface BackendResult {
  backend: Backend;
  date: string;
  machine: { cpus: number; cpu_model: string; node: string; database: string };
  dataset: DatasetSize & { deep_offset: number; page_limit: number; db_size_mb: number };
  seed: SeedTimings;
  settings: { read_requests: number; hook_events: number; hook_concurrency: number; repeat: number; db_pool_max: number };
  runs: RunFigures[];
  median: RunFigures;
  /** GET /api/sessions and hook ingest with AUTH=off and AUTH=keys, same run. */
  auth: AuthOverhead;
}

interface Fixtures {
  deepCursor: string;
  deepFirstId: string;
  bigSessionId: string;
  lastPageCursor: string;
  dbVersion: string;
}

const CLOCK_TICK_MS = 10; // USER_HZ is 100 on Linux

/** CPU time (ms) of this database's PostgreSQL backends, by pid; empty where /proc is unavailable. */
export async function backendCpu(db: Kysely<DB>): Promise<Map<number, number>> {
  const pids = await sql<{ pid: number }>`select pid from pg_stat_activity where datname = current_database()`.execute(db).catch(() => ({ rows: [] }));
  const out = new Map<number, number>();
  for (const { pid } of pids.rows) {
    try {
      const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
      out.set(pid, (Number(fields[11]) + Number(fields[12])) * CLOCK_TICK_MS);
    } catch {
      // not on Linux, or the backend has gone
    }
  }
  return out;
}

interface Measured {
  r: LoadResult;
  serverCpuMs: number;
  dbCpuMs: number;
}

/** Runs a load job and charges it the CPU time of the server, the database backends and the client. */
export async function measured(client: LoadClient, db: Kysely<DB>, backend: Backend, job: LoadJob): Promise<Measured> {
  const dbBefore = await backendCpu(db);
  const before = process.cpuUsage();
  const r = await client.run(job);
  const used = process.cpuUsage(before);
  let dbCpuMs = 0;
  // A backend that started during the job (the pool opens connections as load grows, and closes
  // idle ones after 10 s) spent all its CPU in it.
  for (const [pid, ms] of await backendCpu(db)) dbCpuMs += ms - (dbBefore.get(pid) ?? 0);
  return { r, serverCpuMs: (used.user + used.system) / 1000, dbCpuMs };
}

export function latency({ r, serverCpuMs, dbCpuMs }: Measured, warmup: number): Latency {
  const n = r.latenciesMs.length;
  const perRequest = (ms: number) => Math.round((ms / (n + warmup)) * 1000) / 1000;
  const round = (v: number) => Math.round(v * 100) / 100;
  return {
    n,
    errors: r.errors,
    mean_ms: round(r.latenciesMs.reduce((a, b) => a + b, 0) / Math.max(1, n)),
    p50_ms: round(percentile(r.latenciesMs, 50)),
    p95_ms: round(percentile(r.latenciesMs, 95)),
    p99_ms: round(percentile(r.latenciesMs, 99)),
    server_cpu_ms: perRequest(serverCpuMs),
    db_cpu_ms: perRequest(dbCpuMs),
    client_cpu_ms: perRequest(r.clientCpuMs),
  };
}

async function fixtures(db: Kysely<DB>, size: DatasetSize, deepOffset: number): Promise<Fixtures> {
  const deep = await sql<{ updated_at: Date; id: string }>`
    select updated_at, id from sessions order by updated_at desc, id desc offset ${deepOffset - 1} limit 2`.execute(db);
  const [last, first] = deep.rows;
  if (!last || !first) throw new Error(`fewer than ${deepOffset + 1} sessions seeded`);
  const bigSessionId = benchSessionId(1);
  const before = await sql<{ id: number }>`
    select id from session_messages where session_id = ${bigSessionId} order by id desc offset ${PAGE_LIMIT} limit 1`.execute(db);
  const beforeLast = before.rows[0];
  if (!beforeLast || size.bigSessionMessages <= PAGE_LIMIT) throw new Error('the long conversation is shorter than two pages: raise --scale');
  const version = await sql<{ v: string }>`select version() as v`.execute(db);
  return {
    // The same cursor format the API hands out: [updated_at ISO, id] of the page's last row.
    deepCursor: encodeCursor([last.updated_at.toISOString(), last.id]),
    deepFirstId: first.id,
    bigSessionId,
    lastPageCursor: encodeCursor(Number(beforeLast.id)),
    dbVersion: (version.rows[0]?.v ?? '').split(' on ')[0] ?? '',
  };
}

export async function prepareBackend(backend: Backend, adminUrl: string): Promise<{ env: Record<string, string>; cleanup(): Promise<void> }> {
  if (backend === 'embedded') {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cco-bench-'));
    return { env: { DATA_DIR: dir, DATABASE_URL: '' }, cleanup: async () => fs.rmSync(dir, { recursive: true, force: true }) };
  }
  const name = `cco_bench_${randomBytes(6).toString('hex')}`;
  const admin = async (statement: string) => {
    const c = new pg.Client({ connectionString: adminUrl });
    await c.connect();
    try {
      await c.query(statement);
    } finally {
      await c.end();
    }
  };
  await admin(`create database ${name}`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return { env: { DATABASE_URL: url.toString() }, cleanup: () => admin(`drop database if exists ${name} with (force)`) };
}

async function checkPage(baseUrl: string, pathAndQuery: string, check: (body: { data: { id: unknown }[]; next_cursor: string | null }) => string | null) {
  const res = await fetch(`${baseUrl}${pathAndQuery}`);
  const body = (await res.json()) as { data: { id: unknown }[]; next_cursor: string | null };
  const problem = res.status !== 200 ? `status ${res.status}` : check(body);
  if (problem) throw new Error(`GET ${pathAndQuery}: ${problem}`);
}

export async function benchBackend(backend: Backend, opts: ApiBenchOptions): Promise<BackendResult> {
  const size = datasetFor(opts.scale);
  const deepOffset = Math.min(size.sessions - PAGE_LIMIT - 1, Math.max(1, Math.round(50_000 * opts.scale)));
  const prepared = await prepareBackend(backend, opts.adminUrl);
  const client = new LoadClient();
  try {
    const config: Config = loadConfig({
      ...process.env, ...prepared.env, HOST: '127.0.0.1', PORT: '0', LOG_LEVEL: 'silent', AUTH: 'off',
      // The load generator is one client sending tens of thousands of requests: measure the API, not the limiter.
      RATE_LIMIT_PER_MIN: '0', RATE_LIMIT_HOOKS_PER_MIN: '0',
    });
    opts.log(`[${backend}] seeding ${size.sessions} sessions, ${size.messages} messages, ${size.logs} logs`);
    const seeding = await openDatabase(config.db);
    let seeded: SeedTimings;
    let fx: Fixtures;
    let dbSizeMb: number;
    try {
      await migrate(seeding.db);
      seeded = await seed(seeding.db, size);
      fx = await fixtures(seeding.db, size, deepOffset);
      const s = await sql<{ b: number }>`select pg_database_size(current_database()) as b`.execute(seeding.db);
      dbSizeMb = Math.round(Number(s.rows[0]?.b ?? 0) / 1e5) / 10;
    } finally {
      await seeding.close();
    }
    opts.log(`[${backend}] seeded in ${seeded.totalS.toFixed(1)} s; starting the server`);

    let result: Omit<BackendResult, 'auth'>;
    const server = await startServer(config, createLogger('silent', { pretty: false }));
    try {
      const base = server.url;
      const q = `limit=${PAGE_LIMIT}`;
      const paths: Record<ReadScenario, string> = {
        list_first: `/api/sessions?${q}`,
        list_deep: `/api/sessions?${q}&cursor=${fx.deepCursor}`,
        messages_first: `/api/sessions/${fx.bigSessionId}/messages?${q}`,
        messages_last: `/api/sessions/${fx.bigSessionId}/messages?${q}&cursor=${fx.lastPageCursor}`,
      };
      // The pages measured are the pages meant: full, and the deep one starts where it should.
      await checkPage(base, paths.list_first, (b) => (b.data.length === PAGE_LIMIT ? null : 'short first page'));
      await checkPage(base, paths.list_deep, (b) => (b.data[0]?.id === fx.deepFirstId ? null : `deep page starts at ${String(b.data[0]?.id)}`));
      await checkPage(base, paths.messages_first, (b) => (b.data.length === PAGE_LIMIT ? null : 'short first page'));
      await checkPage(base, paths.messages_last, (b) => (b.data.length === PAGE_LIMIT && b.next_cursor === null ? null : 'not the last page'));

      const runs: RunFigures[] = [];
      for (let rep = 1; rep <= opts.repeat; rep++) {
        const reads = {} as Record<ReadScenario, Latency>;
        for (const s of READ_SCENARIOS) {
          const job = { baseUrl: base, concurrency: 1, count: opts.readRequests, warmup: 20, requests: { kind: 'get' as const, paths: [paths[s]] } };
          reads[s] = latency(await measured(client, server.database.db, backend, job), job.warmup);
        }
        const hooks = await measureHooks(client, base, server.database, size, opts);
        const hookBatches = await measureHookBatches(client, base, server.database, opts);
        runs.push({ ...reads, hooks, hook_batches: hookBatches });
        opts.log(`[${backend}] run ${rep}/${opts.repeat}: list p95 ${reads.list_first.p95_ms}/${reads.list_deep.p95_ms} ms, ` +
          `messages p95 ${reads.messages_first.p95_ms}/${reads.messages_last.p95_ms} ms, hooks ${hooks.events_per_s}/s p99 ${hooks.p99_ms} ms, ` +
          `batched ${hookBatches.events_per_s}/s p99 ${hookBatches.p99_ms} ms`);
      }
      result = {
        backend,
        date: new Date().toISOString(),
        machine: { cpus: os.cpus().length, cpu_model: os.cpus()[0]?.model ?? 'unknown', node: process.version, database: fx.dbVersion },
        dataset: { ...size, deep_offset: deepOffset, page_limit: PAGE_LIMIT, db_size_mb: dbSizeMb },
        seed: seeded,
        settings: { read_requests: opts.readRequests, hook_events: opts.hookEvents, hook_concurrency: opts.hookConcurrency, repeat: opts.repeat, db_pool_max: config.db.poolMax },
        runs,
        median: medianOf(runs),
      };
    } finally {
      await server.stop();
    }
    // Servers one after another: the embedded database takes one server at a time.
    // One sender: at 50 the p50 is mostly queueing, which hides (or inflates) a per-request cost.
    const oneSender = { ...opts, hookConcurrency: 1, hookEvents: Math.min(opts.hookEvents, 2000) };
    const auth = await measureAuthOverhead(client, config, opts, (c, url, s, key) => measureHooks(c, url, s.database, size, oneSender, key));
    return { ...result, auth };
  } finally {
    await client.close();
    await prepared.cleanup();
  }
}

async function measureHooks(client: LoadClient, baseUrl: string, database: Database, size: DatasetSize, opts: ApiBenchOptions, key?: string): Promise<HookFigures> {
  // Half the events go to seeded sessions, half to Claude sessions the server has not seen yet.
  const spread = Math.max(2, Math.min(1000, Math.floor(size.sessions / 2)));
  const claudeSessionIds = [
    ...Array.from({ length: spread / 2 }, (_, i) => benchClaudeSessionId(2 + i)),
    ...Array.from({ length: spread / 2 }, () => randomUUID()),
  ];
  const runTag = randomBytes(4).toString('hex');
  const warmup = Math.min(500, Math.ceil(opts.hookEvents / 10));
  const db = database.db;
  const m = await measured(client, db, database.backend, { baseUrl, concurrency: opts.hookConcurrency, count: opts.hookEvents, warmup, key, requests: { kind: 'hooks', spec: { claudeSessionIds, runTag } } });
  const r = m.r;
  if (r.errors > 0) throw new Error(`${r.errors} hook requests failed, first: ${r.firstError}`);
  const stored = await sql<{ n: number }>`select count(*)::int as n from command_logs where tool_use_id like ${`toolu_${runTag}_%`}`.execute(db);
  const n = Number(stored.rows[0]?.n ?? 0);
  if (n !== warmup + opts.hookEvents) throw new Error(`sent ${warmup + opts.hookEvents} hook events, ${n} stored`);
  const seconds = r.elapsedMs / 1000;
  return { ...latency(m, warmup), concurrency: opts.hookConcurrency, seconds: Math.round(seconds * 100) / 100, events_per_s: Math.round(opts.hookEvents / seconds) };
}

/** Field-by-field median over repeated runs. */
function medianOf(runs: RunFigures[]): RunFigures {
  const first = runs[0];
  if (!first) throw new Error('no runs');
  const out = structuredClone(first) as unknown as Record<string, Record<string, number>>;
  for (const [scenario, figures] of Object.entries(out)) {
    for (const key of Object.keys(figures)) {
      figures[key] = median(runs.map((r) => (r as unknown as Record<string, Record<string, number>>)[scenario]?.[key] ?? Number.NaN));
    }
  }
  return out as unknown as RunFigures;
}
