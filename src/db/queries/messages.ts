/** SQL for session_messages. */
import { sql, type Selectable } from 'kysely';
import type { SessionMessagesTable } from '../schema.ts';
import { storableRow } from '../text.ts';
import { titleFromPrompt } from '../../lib/title.ts';
import { jsonb, type Executor } from './sessions.ts';

export type MessageRow = Selectable<SessionMessagesTable> & {
  /** Set by insertMessage: this message gave its session a title (publish the session as updated). */
  session_titled?: boolean;
};

export interface NewMessageRow {
  session_id: string;
  direction: string;
  content: string;
  source: string;
  metadata: Record<string, unknown>;
}

/**
 * Inserts a message and moves the session's updated_at in the same statement,
 * so the session list order can never miss the activity. A session without a
 * title takes the first line of its first user message (every path that stores
 * a prompt, API or hook, comes through here).
 */
export async function insertMessage(db: Executor, message: NewMessageRow): Promise<MessageRow | undefined> {
  const m = storableRow(message, { in: 'metadata' });
  const title = m.direction === 'user' ? titleFromPrompt(m.content) : null;
  const r = await sql<MessageRow>`
    with earlier as (
      select title from sessions where id = ${m.session_id}
    ), touched as (
      update sessions set updated_at = now(), title = coalesce(title, ${title}::text) where id = ${m.session_id} returning id
    )
    insert into session_messages (session_id, direction, content, source, metadata)
    select touched.id, ${m.direction}, ${m.content}, ${m.source}, ${jsonb(m.metadata)} from touched
    returning *, (${title}::text is not null and (select title from earlier) is null) as session_titled`.execute(db);
  return r.rows[0];
}

/** One message of a session (the item a live event refers to). */
export async function findMessage(db: Executor, sessionId: string, id: number): Promise<MessageRow | undefined> {
  return db.selectFrom('session_messages').selectAll().where('session_id', '=', sessionId).where('id', '=', id).executeTakeFirst();
}

/** Oldest first, keyset on id. */
export async function listMessages(db: Executor, sessionId: string, limit: number, afterId?: number): Promise<MessageRow[]> {
  let q = db.selectFrom('session_messages').selectAll().where('session_id', '=', sessionId);
  if (afterId !== undefined) q = q.where('id', '>', afterId);
  return q.orderBy('id', 'asc').limit(limit).execute();
}
