/**
 * Keyset batches for GET /api/export: sessions by id, then the messages and logs of a
 * batch of sessions by (session_id, id). Each call reads at most `limit` rows, so an
 * export of any size holds one batch in memory at a time.
 */
import { sql } from 'kysely';
import type { CommandLogRow } from './command-logs.ts';
import type { MessageRow } from './messages.ts';
import { sessionWhere, type SessionFilter } from './session-filter.ts';
import type { Executor, SessionRow } from './sessions.ts';

export async function sessionsAfter(db: Executor, filter: SessionFilter, afterId: string | undefined, limit: number): Promise<SessionRow[]> {
  let q = db.selectFrom('sessions').selectAll().where(sessionWhere(filter));
  if (afterId !== undefined) q = q.where('id', '>', afterId);
  return q.orderBy('id').limit(limit).execute();
}

export interface ItemPosition {
  sessionId: string;
  id: string;
}

/** Messages of the given sessions after a (session_id, id) position, in that order. */
export async function messagesAfter(db: Executor, sessionIds: string[], after: ItemPosition | undefined, limit: number): Promise<MessageRow[]> {
  const r = await sql<MessageRow>`
    select id, session_id, direction, content, source, timestamp, metadata from session_messages
     where session_id = any(${sessionIds}::uuid[])
       ${after ? sql`and (session_id, id) > (${after.sessionId}::uuid, ${after.id}::bigint)` : sql``}
     order by session_id, id limit ${limit}`.execute(db);
  return r.rows;
}

export async function logsAfter(db: Executor, sessionIds: string[], after: ItemPosition | undefined, limit: number): Promise<CommandLogRow[]> {
  const r = await sql<CommandLogRow>`
    select id, session_id, tool_use_id, tool, input, result, result_truncated, result_size, status, duration_ms, timestamp, metadata from command_logs
     where session_id = any(${sessionIds}::uuid[])
       ${after ? sql`and (session_id, id) > (${after.sessionId}::uuid, ${after.id}::bigint)` : sql``}
     order by session_id, id limit ${limit}`.execute(db);
  return r.rows;
}
