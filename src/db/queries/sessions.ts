/** SQL for the sessions table. One statement per function; the executor is passed in. */
import { sql, type Kysely, type Selectable, type Transaction } from 'kysely';
import type { DB, SessionsTable } from '../schema.ts';
import { storableRow } from '../text.ts';
import { sessionWhere, type SessionFilter } from './session-filter.ts';

export type Executor = Kysely<DB> | Transaction<DB>;
export type SessionRow = Selectable<SessionsTable>;

export const jsonb = (value: unknown) => sql<string>`cast(${JSON.stringify(value)} as text)::jsonb`;

export interface NewSessionRow {
  id: string;
  managed: boolean;
  run_options: Record<string, unknown>;
  claude_session_id: string | null;
  project_path: string;
  project_type: string;
  status: string;
  source: string;
  owner: string | null;
  metadata: Record<string, unknown>;
  title: string | null;
  budget_usd?: number | undefined;
  schedule_id?: string | undefined;
  /** The approval policy given at creation ({policy, mode}). */
  policy?: Record<string, unknown> | null | undefined;
}

export async function insertSession(db: Executor, session: NewSessionRow): Promise<SessionRow> {
  const s = storableRow(session, { in: 'metadata' });
  return db
    .insertInto('sessions')
    .values({ ...s, metadata: jsonb(s.metadata), run_options: jsonb(s.run_options), policy: s.policy ? jsonb(s.policy) : null })
    .returningAll()
    .executeTakeFirstOrThrow();
}

export async function findSession(db: Executor, id: string): Promise<SessionRow | undefined> {
  return db.selectFrom('sessions').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function findSessionForUpdate(db: Transaction<DB>, id: string): Promise<SessionRow | undefined> {
  return db.selectFrom('sessions').selectAll().where('id', '=', id).forUpdate().executeTakeFirst();
}

export interface SessionListQuery extends SessionFilter {
  limit: number;
  /** Keyset position: rows strictly after (updated_at, id) in descending order. */
  after?: { updatedAt: Date; id: string } | undefined;
}

/** Newest activity first; the (updated_at, id) row comparison walks the index, so deep pages cost the same. */
export async function listSessions(db: Executor, q: SessionListQuery): Promise<SessionRow[]> {
  let query = db.selectFrom('sessions').selectAll().where(sessionWhere(q));
  if (q.after) query = query.where(sql<boolean>`(updated_at, id) < (${q.after.updatedAt}, ${q.after.id})`);
  return query.orderBy('updated_at', 'desc').orderBy('id', 'desc').limit(q.limit).execute();
}

export interface SessionChanges {
  status?: string;
  claude_session_id?: string | null;
  title?: string;
  /** Shallow-merged into the stored metadata (top-level keys replace). */
  metadataPatch?: Record<string, unknown>;
}

export async function updateSession(db: Executor, id: string, changes: SessionChanges): Promise<SessionRow | undefined> {
  const c = storableRow(changes, { in: 'metadataPatch' });
  return db
    .updateTable('sessions')
    .set({
      updated_at: sql`now()`,
      ...(c.status !== undefined ? { status: c.status } : {}),
      ...(c.claude_session_id !== undefined ? { claude_session_id: c.claude_session_id } : {}),
      ...(c.title !== undefined ? { title: c.title } : {}),
      ...(c.metadataPatch ? { metadata: sql`metadata || ${jsonb(c.metadataPatch)}` } : {}),
    })
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirst();
}

export async function setManaged(db: Executor, id: string, runOptions: Record<string, unknown>): Promise<SessionRow | undefined> {
  return db
    .updateTable('sessions')
    .set({ managed: true, run_options: jsonb(storableRow(runOptions)), updated_at: sql`now()` })
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirst();
}

/** Stores a prepared workspace: its folder becomes project_path, its record metadata.workspace. */
export async function setWorkspace(db: Executor, id: string, projectPath: string, workspace: Record<string, unknown>): Promise<SessionRow | undefined> {
  return db
    .updateTable('sessions')
    .set({ project_path: projectPath, metadata: sql`jsonb_set(metadata, '{workspace}', ${jsonb(workspace)})`, updated_at: sql`now()` })
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirst();
}
