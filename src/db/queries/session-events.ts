/** SQL for session_events, and the session look-up by Claude Code's session id used by every hook event. */
import { sql, type Selectable } from 'kysely';
import type { SessionEventsTable } from '../schema.ts';
import { unnestRows } from '../binary-rows.ts';
import { PREPARED } from '../prepared.ts';
import type { ClaudeSessionSeed } from './command-logs.ts';
import { storableRow } from '../text.ts';
import { jsonb, type Executor, type SessionRow } from './sessions.ts';

export type SessionEventRow = Selectable<SessionEventsTable>;

export interface NewSessionEventRow {
  session_id: string;
  event: string;
  /** The sender's event id (x-cco-event-id or Idempotency-Key); null when it sent none. */
  event_key: string | null;
  data: Record<string, unknown>;
}

/**
 * Finds the session for Claude Code's session id, creating it (source cli) for a
 * run started outside the orchestrator. One statement, so concurrent first events
 * of one run create one session; the row lock it takes serializes the rest of the
 * caller's transaction per session.
 */
export async function upsertClaudeSession(db: Executor, sessionSeed: ClaudeSessionSeed): Promise<{ row: SessionRow; created: boolean }> {
  const seed = storableRow(sessionSeed, { in: 'metadata' });
  const r = await sql<SessionRow & { created: boolean }>`
    insert into sessions (id, claude_session_id, project_path, project_type, status, source, owner, metadata)
    values (${seed.id}, ${seed.claudeSessionId}, ${seed.projectPath}, 'local', 'active', 'cli', ${seed.owner}, ${jsonb(seed.metadata)})
    on conflict (claude_session_id) do update set updated_at = now()
    returning *, (xmax = 0) as created`.execute(db);
  const row = r.rows[0];
  if (!row) throw new Error('session upsert returned no row');
  const { created, ...session } = row;
  return { row: session as SessionRow, created };
}

/** Inserts the event; undefined when (session, event, key) is already stored (a redelivery). A null key never conflicts. */
export async function insertSessionEvent(db: Executor, event: NewSessionEventRow): Promise<SessionEventRow | undefined> {
  const e = storableRow(event, { in: 'data', key: '_text_replaced' });
  const r = await sql<SessionEventRow>`
    insert into session_events (session_id, event, event_key, data)
    values (${e.session_id}, ${e.event}, ${e.event_key}, ${jsonb(e.data)})
    on conflict (session_id, event, event_key) do nothing
    returning *`.execute(db);
  return r.rows[0];
}

/** Marks a session completed unless it already is; undefined when nothing changed. */
export async function completeSession(db: Executor, id: string): Promise<SessionRow | undefined> {
  return db
    .updateTable('sessions')
    .set({ status: 'completed', updated_at: sql`now()` })
    .where('id', '=', id)
    .where('status', '<>', 'completed')
    .returningAll()
    .executeTakeFirst();
}

export interface SessionEventListQuery {
  limit: number;
  afterId?: number | undefined;
  event?: string | undefined;
}

/** One hook event of a session (the item a live event refers to). */
export async function findSessionEvent(db: Executor, sessionId: string, id: number): Promise<SessionEventRow | undefined> {
  return db.selectFrom('session_events').selectAll().where('session_id', '=', sessionId).where('id', '=', id).executeTakeFirst();
}

/** Oldest first, keyset on id. */
export async function listSessionEvents(db: Executor, sessionId: string, q: SessionEventListQuery): Promise<SessionEventRow[]> {
  let query = db.selectFrom('session_events').selectAll().where('session_id', '=', sessionId);
  if (q.event) query = query.where('event', '=', q.event);
  if (q.afterId !== undefined) query = query.where('id', '>', q.afterId);
  return query.orderBy('id', 'asc').limit(q.limit).execute();
}

/**
 * upsertClaudeSession for the distinct Claude sessions of a hook batch, in one
 * statement, locking them in claude_session_id order (the order every batch
 * statement uses, so concurrent batches cannot deadlock). Keyed by Claude session id.
 */
export async function upsertClaudeSessions(db: Executor, seeds: readonly ClaudeSessionSeed[]): Promise<Map<string, { row: SessionRow; created: boolean }>> {
  const input = seeds.map((s) => ({ new_id: s.id, claude_session_id: s.claudeSessionId, project_path: s.projectPath, session_owner: s.owner, session_metadata: s.metadata }));
  const r = await sql<SessionRow & { created: boolean }>`${PREPARED}
    insert into sessions (id, claude_session_id, project_path, project_type, status, source, owner, metadata)
    select distinct on (claude_session_id) new_id, claude_session_id, project_path, 'local', 'active', 'cli', session_owner, session_metadata
    from ${unnestRows('x', { new_id: 'uuid', claude_session_id: 'text', project_path: 'text', session_owner: 'text', session_metadata: 'jsonb' }, input)}
    order by claude_session_id, ord
    on conflict (claude_session_id) do update set updated_at = now()
    returning *, (xmax = 0) as created`.execute(db);
  return new Map(r.rows.map(({ created, ...row }) => [row.claude_session_id as string, { row: row as SessionRow, created }]));
}
