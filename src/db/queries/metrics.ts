/** The gauges read from the database at scrape time: grouped counts over indexed columns. */
import { sql, type Kysely } from 'kysely';
import type { DB } from '../schema.ts';
import { SESSION_STATUSES } from '../../sessions/types.ts';

export interface StateCounts {
  /** Every status, 0 when none: a series does not vanish when its last session moves on. */
  sessions: Record<string, number>;
  running: number;
  queued: number;
  /** Messages and tool logs waiting for their search vector (the search indexer's backlog). */
  searchPending: { messages: number; logs: number };
}

export async function readStateCounts(db: Kysely<DB>): Promise<StateCounts> {
  // sessions_status_updated_idx and the partial turns_open_idx serve these.
  const sessions = await sql<{ status: string; n: string }>`select status, count(*) as n from sessions group by status`.execute(db);
  const turns = await sql<{ status: string; n: string }>`select status, count(*) as n from turns where status in ('queued', 'running') group by status`.execute(db);
  // The partial *_unindexed_idx indexes hold exactly these rows (0018).
  const pending = await sql<{ messages: number; logs: number }>`
    select (select count(*) from session_messages where search is null)::int as messages,
           (select count(*) from command_logs where search is null)::int as logs`.execute(db);
  const p = pending.rows[0];
  const out: StateCounts = {
    sessions: Object.fromEntries(SESSION_STATUSES.map((s) => [s, 0])),
    running: 0,
    queued: 0,
    searchPending: { messages: Number(p?.messages ?? 0), logs: Number(p?.logs ?? 0) },
  };
  for (const r of sessions.rows) if (r.status in out.sessions) out.sessions[r.status] = Number(r.n);
  for (const r of turns.rows) {
    if (r.status === 'running') out.running = Number(r.n);
    else if (r.status === 'queued') out.queued = Number(r.n);
  }
  return out;
}
