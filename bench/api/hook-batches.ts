/**
 * The "forwarder batches" hook scenario: each of the N senders stands for the
 * cco-hook.sh worker of one busy Claude Code session and posts what its spool
 * holds (20-50 events, mostly tool events, a turn's prompt and Stop now and then)
 * to POST /api/hooks/batch, as the forwarder does. Latency is per request; CPU is
 * per event, so it compares with the one-event-per-request scenario.
 * Paced (--batch-rate, default the issue's 7,500 events/s) rather than closed loop:
 * 50 senders that always have 35 events in flight would wait about 50 x 35 / rate
 * per request by Little's law (230 ms at 7,500/s) whatever the server does, so a
 * p99 target only means something at a given offered rate. --batch-rate 0 measures
 * the closed-loop maximum instead.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import type { Database } from '../../src/db/database.ts';
import { readStateCounts } from '../../src/db/queries/metrics.ts';
import { batchHasTurn, batchSize } from './hook-payloads.ts';
import type { LoadClient } from './load-client.ts';
import { backendCpu, latency, measured, type ApiBenchOptions, type HookFigures } from './run.ts';

export interface HookBatchFigures extends HookFigures {
  /** Events/s the senders offered (0: closed loop, as fast as answered). */
  offered_per_s: number;
  /** Events in the measured requests, and their mean per request. */
  events: number;
  events_per_request: number;
  /** Rows still waiting for their search vector when the last answer came, and seconds until the indexer had them all. */
  index_pending_at_end: number;
  index_catchup_s: number;
  /** The database's CPU during that catch-up, per event of the scenario (work the ingest deferred; not in db_cpu_ms). */
  index_catchup_db_cpu_ms: number;
}

/** Mean events per batch request (batchSize runs 20..50). */
const MEAN_BATCH = 35;

const range = (from: number, to: number) => Array.from({ length: Math.max(0, to - from) }, (_, k) => from + k);

export async function measureHookBatches(client: LoadClient, baseUrl: string, database: Database, opts: ApiBenchOptions): Promise<HookBatchFigures> {
  const count = Math.max(1, Math.round(opts.hookEvents / MEAN_BATCH));
  const warmup = Math.min(100, Math.max(1, Math.ceil(count / 10)));
  const spec = { claudeSessionIds: Array.from({ length: opts.hookConcurrency }, () => randomUUID()), runTag: randomBytes(4).toString('hex') };
  // Paced: the senders together offer hookBatchRate events/s; 0 is as fast as they can.
  const intervalMs = opts.hookBatchRate > 0 ? (opts.hookConcurrency * MEAN_BATCH * 1000) / opts.hookBatchRate : undefined;
  const m = await measured(client, database.db, database.backend, { baseUrl, concurrency: opts.hookConcurrency, count, warmup, intervalMs, requests: { kind: 'hook-batches', spec } });
  const r = m.r;
  const ended = performance.now();
  const index = await indexCatchUp(database, ended);
  const allEventsSent = range(0, warmup + count).reduce((n, i) => n + batchSize(i), 0);
  if (r.errors > 0) throw new Error(`${r.errors} hook batch requests failed, first: ${r.firstError}`);

  // Everything sent was stored: every tool event as a log, every prompt and Stop as a session event.
  const all = range(0, warmup + count);
  const turns = all.filter(batchHasTurn).length;
  const toolEvents = all.reduce((n, i) => n + batchSize(i) - (batchHasTurn(i) ? 2 : 0), 0);
  const logs = await sql<{ n: number }>`select count(*)::int as n from command_logs where tool_use_id like ${`toolu_${spec.runTag}_%`}`.execute(database.db);
  const events = await sql<{ n: number }>`select count(*)::int as n from session_events where event_key like ${`${spec.runTag}-%`}`.execute(database.db);
  if (Number(logs.rows[0]?.n) !== toolEvents || Number(events.rows[0]?.n) !== 2 * turns) {
    throw new Error(`sent ${toolEvents} tool events and ${2 * turns} others; stored ${logs.rows[0]?.n} logs and ${events.rows[0]?.n} events`);
  }

  const measuredEvents = range(warmup, warmup + count).reduce((n, i) => n + batchSize(i), 0);
  const allEvents = all.reduce((n, i) => n + batchSize(i), 0);
  const perEvent = (ms: number) => Math.round((ms / allEvents) * 1000) / 1000;
  const seconds = r.elapsedMs / 1000;
  return {
    ...latency(m, warmup),
    server_cpu_ms: perEvent(m.serverCpuMs),
    db_cpu_ms: perEvent(m.dbCpuMs),
    client_cpu_ms: perEvent(r.clientCpuMs),
    concurrency: opts.hookConcurrency,
    offered_per_s: opts.hookBatchRate,
    seconds: Math.round(seconds * 100) / 100,
    events: measuredEvents,
    events_per_request: Math.round((measuredEvents / count) * 10) / 10,
    events_per_s: Math.round(measuredEvents / seconds),
    index_pending_at_end: index.pendingAtEnd,
    index_catchup_s: index.catchupS,
    index_catchup_db_cpu_ms: Math.round((index.dbCpuMs / allEventsSent) * 1000) / 1000,
  };
}

/** The search indexer runs in the server beside the ingest (migration 0018): how far behind it was, and how long it took to catch up. */
async function indexCatchUp(database: Database, since: number): Promise<{ pendingAtEnd: number; catchupS: number; dbCpuMs: number }> {
  const cpuBefore = await backendCpu(database.db);
  const waiting = async () => {
    const p = (await readStateCounts(database.db)).searchPending;
    return p.messages + p.logs;
  };
  const pendingAtEnd = await waiting();
  let left = pendingAtEnd;
  while (left > 0) {
    if (performance.now() - since > 300_000) throw new Error(`the search indexer left ${left} rows waiting 5 minutes after the run`);
    await new Promise((res) => setTimeout(res, 50));
    left = await waiting();
  }
  const catchupS = Math.round((performance.now() - since) / 10) / 100;
  let dbCpuMs = 0;
  for (const [pid, ms] of await backendCpu(database.db)) dbCpuMs += ms - (cpuBefore.get(pid) ?? 0);
  return { pendingAtEnd, catchupS, dbCpuMs };
}
