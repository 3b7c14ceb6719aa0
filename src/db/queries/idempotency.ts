/** SQL for idempotency_keys (src/http/idempotency.ts). */
import { sql, type Selectable } from 'kysely';
import type { IdempotencyKeysTable } from '../schema.ts';
import { jsonb, type Executor } from './sessions.ts';

export type IdempotencyRow = Selectable<IdempotencyKeysTable>;

export interface NewIdempotencyRow {
  scope: string;
  key: string;
  method: string;
  path: string;
  request_hash: string;
  claim: string;
  session_id: string | null;
}

/** Keys live this long; an older row counts as absent and is pruned. */
export const IDEMPOTENCY_TTL_SQL = "interval '24 hours'";

/**
 * Claims (scope, key) for a first request: the new row, or undefined when a live row holds it. A row
 * past the 24 h retention is replaced in the same statement (a reused key after a day is a new request).
 */
export async function claimKey(db: Executor, r: NewIdempotencyRow): Promise<IdempotencyRow | undefined> {
  const res = await sql<IdempotencyRow>`
    insert into idempotency_keys (scope, key, method, path, request_hash, claim, session_id)
    values (${r.scope}, ${r.key}, ${r.method}, ${r.path}, ${r.request_hash}, ${r.claim}, ${r.session_id})
    on conflict (scope, key) do update set method = excluded.method, path = excluded.path, request_hash = excluded.request_hash,
      claim = excluded.claim, session_id = excluded.session_id, turn_id = null, message_id = null,
      response_status = null, response_body = null, created_at = now(), completed_at = null
      where idempotency_keys.created_at < now() - ${sql.raw(IDEMPOTENCY_TTL_SQL)}
    returning *`.execute(db);
  return res.rows[0];
}

export async function findKey(db: Executor, scope: string, key: string): Promise<IdempotencyRow | undefined> {
  return db.selectFrom('idempotency_keys').selectAll().where('scope', '=', scope).where('key', '=', key).executeTakeFirst();
}

/** Takes over a claim whose request is gone (nothing recorded, old): false when someone else did. */
export async function takeOverClaim(db: Executor, id: number, oldClaim: string, newClaim: string): Promise<boolean> {
  const r = await db.updateTable('idempotency_keys').set({ claim: newClaim, created_at: sql`now()` }).where('id', '=', id).where('claim', '=', oldClaim).where('turn_id', 'is', null).executeTakeFirst();
  return Number(r.numUpdatedRows) > 0;
}

/** Records what the request made; false when its claim was taken over meanwhile. */
export async function recordMade(db: Executor, id: number, claim: string, made: { session_id: string; turn_id: number; message_id: number | null }): Promise<boolean> {
  const r = await db.updateTable('idempotency_keys').set(made).where('id', '=', id).where('claim', '=', claim).executeTakeFirst();
  return Number(r.numUpdatedRows) > 0;
}

/** Stores the answer the first request sent (once). */
export async function recordResponse(db: Executor, id: number, claim: string, status: number, body: unknown): Promise<void> {
  await db
    .updateTable('idempotency_keys')
    .set({ response_status: status, response_body: jsonb(body), completed_at: sql`now()` })
    .where('id', '=', id)
    .where('claim', '=', claim)
    .where('response_status', 'is', null)
    .execute();
}

/** Frees the key of a request that failed before it made anything, so the client may retry with it. */
export async function releaseClaim(db: Executor, id: number, claim: string): Promise<void> {
  await db.deleteFrom('idempotency_keys').where('id', '=', id).where('claim', '=', claim).where('turn_id', 'is', null).execute();
}

export async function pruneKeys(db: Executor): Promise<number> {
  const r = await db.deleteFrom('idempotency_keys').where('created_at', '<', sql<Date>`now() - ${sql.raw(IDEMPOTENCY_TTL_SQL)}`).executeTakeFirst();
  return Number(r.numDeletedRows);
}
