/**
 * SQL for the search indexer (migration 0018): rows are stored without their search vector and
 * get it here, in batches, off the hook's write path.
 */
import { sql } from 'kysely';
import { PREPARED } from '../prepared.ts';
import type { Executor } from './sessions.ts';

export type IndexedTable = 'session_messages' | 'command_logs';

/**
 * The vector of a row, as the search computes it for a row not indexed yet: one definition, so
 * an indexed row and a pending one match and rank alike. `alias` names the row.
 */
export function documentVector(table: IndexedTable, alias: string) {
  const c = (col: string) => sql.ref(`${alias}.${col}`);
  return table === 'session_messages'
    ? sql`to_tsvector('simple'::regconfig, cco_message_doc(${c('content')}))`
    : sql`to_tsvector('simple'::regconfig, cco_log_doc(${c('input')}, ${c('result')}))`;
}

/**
 * Gives up to `limit` rows without a vector theirs, oldest first; returns how many. Rows another
 * indexer holds are skipped (SKIP LOCKED), so every process can run one; a row the hook path is
 * still inserting is not visible yet and waits for the next batch.
 */
export async function indexPending(db: Executor, table: IndexedTable, limit: number): Promise<number> {
  const t = sql.table(table);
  const r = await sql`${PREPARED}
    update ${t} as d set search = ${documentVector(table, 'd')}
      from (select id from ${t} where search is null order by id limit ${limit} for update skip locked) p
     where d.id = p.id`.execute(db);
  return Number(r.numAffectedRows ?? 0);
}
