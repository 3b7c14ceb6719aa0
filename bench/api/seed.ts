/**
 * Seeds the benchmark data set with set-based SQL (INSERT ... SELECT over
 * generate_series, in batches), so it runs unchanged on PostgreSQL server and embedded.
 *
 * Session number g (1..sessions) has id md5('cco-bench-s' || g)::uuid and Claude
 * session id md5('cco-bench-c' || g)::uuid, so messages and logs can name their
 * session without a join. Session 1 is the long conversation: it gets every
 * stride-th message, interleaved with the others as a real long session's
 * messages would be. updated_at is scattered over 90 days by a multiplicative
 * hash, so the list order is unrelated to insertion order.
 */
import { createHash } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { sql, type Kysely } from 'kysely';
import { documentVector as vector } from '../../src/db/queries/search-index.ts';
import type { DB } from '../../src/db/schema.ts';

export interface DatasetSize {
  sessions: number;
  messages: number;
  logs: number;
  /** Every bigSessionStride-th message belongs to the long conversation (session 1). */
  bigSessionStride: number;
  bigSessionMessages: number;
}

export interface SeedTimings {
  sessionsS: number;
  messagesS: number;
  logsS: number;
  analyzeS: number;
  totalS: number;
}

const BATCH = 100_000;
const NINETY_DAYS_MS = 90 * 24 * 3600 * 1000;

export function datasetFor(scale: number): DatasetSize {
  const sessions = Math.max(4, Math.round(100_000 * scale));
  const messages = Math.max(20, Math.round(1_000_000 * scale));
  const logs = Math.max(20, Math.round(1_000_000 * scale));
  const wanted = Math.max(2, Math.round(10_000 * scale));
  const bigSessionStride = Math.max(1, Math.floor(messages / wanted));
  return { sessions, messages, logs, bigSessionStride, bigSessionMessages: Math.ceil(messages / bigSessionStride) };
}

/** The uuid PostgreSQL's md5(text)::uuid gives. */
export function md5Uuid(text: string): string {
  const h = createHash('md5').update(text).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

export const benchSessionId = (g: number) => md5Uuid(`cco-bench-s${g}`);
export const benchClaudeSessionId = (g: number) => md5Uuid(`cco-bench-c${g}`);

async function timed(fn: () => Promise<void>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return (performance.now() - t0) / 1000;
}

async function inBatches(total: number, fn: (from: number, to: number) => Promise<void>): Promise<void> {
  for (let from = 0; from < total; from += BATCH) await fn(from, Math.min(total, from + BATCH) - 1);
}

export async function seed(db: Kysely<DB>, size: DatasetSize): Promise<SeedTimings> {
  const t0 = performance.now();
  const bigStride = size.bigSessionStride;
  const others = size.sessions - 1;
  const { rows } = await sql<{ t: Date }>`select now() as t`.execute(db);
  const base = (rows[0] as { t: Date }).t;

  const sessionsS = await timed(() =>
    inBatches(size.sessions, async (from, to) => {
      await sql`
        insert into sessions (id, claude_session_id, project_path, project_type, status, source, created_at, updated_at, metadata)
        select md5('cco-bench-s' || g)::uuid, md5('cco-bench-c' || g)::uuid::text,
               '/srv/work/project-' || (g % 500), (array['github','local','worktree','e2b'])[1 + g % 4],
               (array['completed','completed','completed','active','paused','error'])[1 + g % 6],
               (array['api','slack','dashboard','cli','n8n'])[1 + g % 5],
               u - ((g::bigint * 40503) % 259200000) * interval '1 millisecond', u,
               jsonb_build_object('title', 'Task ' || g, 'branch', 'feature/' || (g % 1000))
        from (select g, ${base}::timestamptz - ((g::bigint * 2654435761) % ${NINETY_DAYS_MS}) * interval '1 millisecond' as u
              from generate_series(${from + 1}::int, ${to + 1}::int) g) s`.execute(db);
    }),
  );

  // Rows carry their search vectors, as on a server whose indexer has caught up (migration 0018).
  const messagesS = await timed(() =>
    inBatches(size.messages, async (from, to) => {
      await sql`
        insert into session_messages (session_id, direction, content, source, timestamp, metadata, search)
        select m.*, ${vector('session_messages', 'm')} from (
        select md5('cco-bench-s' || (case when k % ${bigStride} = 0 then 1 else 2 + k % ${others} end))::uuid,
               (array['user','assistant','assistant','system'])[1 + k % 4],
               substr(repeat('Please refactor the session list so that paging stays fast; then run the tests and report. ', 8), 1, 60 + (k * 37) % 600) || ' #' || k as content,
               (array['api','slack','dashboard','cli','n8n','schedule'])[1 + k % 6],
               ${base}::timestamptz - (${size.messages} - k) * interval '100 milliseconds',
               case when k % 4 in (1, 2) then '{"model":"claude-sonnet"}'::jsonb else '{}'::jsonb end
        from generate_series(${from}::int, ${to}::int) k) m`.execute(db);
    }),
  );

  const logsS = await timed(() =>
    inBatches(size.logs, async (from, to) => {
      await sql`
        insert into command_logs (session_id, tool_use_id, tool, input, result, result_truncated, result_size, status, duration_ms, timestamp, metadata, search)
        select l.*, ${vector('command_logs', 'l')} from (
        select md5('cco-bench-s' || (1 + k % ${size.sessions}))::uuid, 'toolu_seed_' || k, t,
               case t when 'Bash' then jsonb_build_object('command', 'npm test -- --grep case' || k, 'description', 'run tests')
                      else jsonb_build_object('file_path', '/srv/work/project/src/module' || (k % 97) || '.ts') end as input,
               r as result, false, octet_length(r), case when k % 25 = 0 then 'error' else 'completed' end,
               (k * 13) % 5000, ${base}::timestamptz - (${size.logs} - k) * interval '100 milliseconds',
               '{"captured_by":"hook"}'::jsonb
        from (select k, (array['Bash','Read','Edit','Write','Grep','Glob'])[1 + k % 6] as t,
                     substr(repeat('ok 12 - sessions list keeps its order under concurrent writes' || chr(10), 20), 1, 80 + (k * 53) % 1200) as r
              from generate_series(${from}::int, ${to}::int) k) s) l`.execute(db);
    }),
  );

  // A long-running server has had autovacuum visit its tables; give the planner the same statistics.
  const analyzeS = await timed(async () => {
    await sql`vacuum analyze sessions`.execute(db);
    await sql`vacuum analyze session_messages`.execute(db);
    await sql`vacuum analyze command_logs`.execute(db);
  });
  return { sessionsS, messagesS, logsS, analyzeS, totalS: (performance.now() - t0) / 1000 };
}
