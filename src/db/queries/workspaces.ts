/** SQL for workspace housekeeping (metadata.workspace of sessions). */
import { sql } from 'kysely';
import type { Executor } from './sessions.ts';

export interface ReleasableWorkspaceRow {
  id: string;
  workspace: unknown;
  updated_at: Date;
  /** updated_at as PostgreSQL prints it: microseconds kept, for exact keyset paging. */
  position: string;
}

/** Completed sessions last changed before `cutoff`, with no turn left unfinished, whose workspace the orchestrator owns and has not removed yet. */
export async function listReleasableWorkspaces(
  db: Executor,
  cutoff: Date,
  limit: number,
  after?: { position: string; id: string },
): Promise<ReleasableWorkspaceRow[]> {
  let query = db
    .selectFrom('sessions')
    .select(['id', 'updated_at', sql<unknown>`metadata->'workspace'`.as('workspace'), sql<string>`cast(updated_at as text)`.as('position')])
    .where('status', '=', 'completed')
    .where('updated_at', '<', cutoff)
    .where(sql<boolean>`metadata->'workspace'->>'owned' = 'true'`)
    .where(sql<boolean>`metadata->'workspace'->'removed_at' is null`)
    // A turn still finishing (its after-turn change scan, on this server or another) uses the folder.
    .where(sql<boolean>`not exists (select 1 from turns t where t.session_id = sessions.id and t.status in ('queued', 'running'))`);
  if (after) query = query.where(sql<boolean>`(updated_at, id) > (cast(${after.position} as timestamptz), ${after.id})`);
  return query.orderBy('updated_at', 'asc').orderBy('id', 'asc').limit(limit).execute();
}

/** Records that a session's workspace is gone; updated_at is left alone so the session keeps its place in lists. */
export async function markWorkspaceRemoved(db: Executor, id: string, at: Date): Promise<void> {
  await db
    .updateTable('sessions')
    .set({ metadata: sql<string>`jsonb_set(metadata, '{workspace,removed_at}', to_jsonb(cast(${at.toISOString()} as text)))` })
    .where('id', '=', id)
    .execute();
}
