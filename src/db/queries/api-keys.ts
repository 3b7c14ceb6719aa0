/** SQL for api_keys and auth_tokens. One statement per function; the executor is passed in. */
import { sql, type Selectable } from 'kysely';
import type { ApiKeysTable } from '../schema.ts';
import type { Executor } from './sessions.ts';

export type ApiKeyRow = Selectable<ApiKeysTable>;

export interface NewApiKeyRow {
  id: string;
  name: string;
  role: string;
  owner: string;
  prefix: string;
  key_hash: string;
  created_by: string | null;
  expires_at: Date | null;
}

export async function insertApiKey(db: Executor, row: NewApiKeyRow): Promise<ApiKeyRow> {
  return db.insertInto('api_keys').values(row).returningAll().executeTakeFirstOrThrow();
}

/** A usable key by its hash: not revoked, not expired. */
export async function findLiveKeyByHash(db: Executor, hash: string): Promise<ApiKeyRow | undefined> {
  return db
    .selectFrom('api_keys')
    .selectAll()
    .where('key_hash', '=', hash)
    .where('revoked_at', 'is', null)
    .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', sql<Date>`now()`)]))
    .executeTakeFirst();
}

export async function findKey(db: Executor, id: string): Promise<ApiKeyRow | undefined> {
  return db.selectFrom('api_keys').selectAll().where('id', '=', id).executeTakeFirst();
}

/** Live keys (and, with revoked, the revoked ones too), oldest first. */
export async function listApiKeys(db: Executor, opts: { revoked?: boolean } = {}): Promise<ApiKeyRow[]> {
  let q = db.selectFrom('api_keys').selectAll();
  if (!opts.revoked) q = q.where('revoked_at', 'is', null);
  return q.orderBy('created_at').orderBy('id').execute();
}

/** Live keys whose name is `ref` or whose display prefix starts with it. */
export async function findLiveKeysByRef(db: Executor, ref: string): Promise<ApiKeyRow[]> {
  return db
    .selectFrom('api_keys')
    .selectAll()
    .where('revoked_at', 'is', null)
    .where((eb) => eb.or([eb('name', '=', ref), eb('prefix', '=', ref), ...(isUuid(ref) ? [eb('id', '=', ref)] : [])]))
    .execute();
}

const isUuid = (s: string) => /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(s);

export async function revokeApiKey(db: Executor, id: string): Promise<ApiKeyRow | undefined> {
  return db
    .updateTable('api_keys')
    .set({ revoked_at: sql`now()` })
    .where('id', '=', id)
    .where('revoked_at', 'is', null)
    .returningAll()
    .executeTakeFirst();
}

export async function touchKeysUsed(db: Executor, ids: readonly string[]): Promise<void> {
  if (ids.length === 0) return;
  await db.updateTable('api_keys').set({ last_used_at: sql`now()` }).where('id', 'in', [...ids]).execute();
}

export async function countAllKeys(db: Executor): Promise<number> {
  const r = await db.selectFrom('api_keys').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
  return Number(r.n);
}

export async function insertAuthToken(db: Executor, row: { token_hash: string; kind: 'browser' | 'link'; key_id: string; expires_at: Date }): Promise<void> {
  await db.insertInto('auth_tokens').values(row).execute();
}

/** The live key behind a live browser token. */
export async function findKeyByBrowserToken(db: Executor, tokenHash: string): Promise<ApiKeyRow | undefined> {
  return db
    .selectFrom('auth_tokens as t')
    .innerJoin('api_keys as k', 'k.id', 't.key_id')
    .selectAll('k')
    .where('t.token_hash', '=', tokenHash)
    .where('t.kind', '=', 'browser')
    .where('t.expires_at', '>', sql<Date>`now()`)
    .where('k.revoked_at', 'is', null)
    .where((eb) => eb.or([eb('k.expires_at', 'is', null), eb('k.expires_at', '>', sql<Date>`now()`)]))
    .executeTakeFirst();
}

/** Uses a one-time link: marks it used and returns its key id, or undefined (unknown, used, expired). */
export async function consumeLinkToken(db: Executor, tokenHash: string): Promise<string | undefined> {
  const r = await db
    .updateTable('auth_tokens')
    .set({ used_at: sql`now()` })
    .where('token_hash', '=', tokenHash)
    .where('kind', '=', 'link')
    .where('used_at', 'is', null)
    .where('expires_at', '>', sql<Date>`now()`)
    .returning('key_id')
    .executeTakeFirst();
  return r?.key_id;
}

export async function deleteAuthToken(db: Executor, tokenHash: string): Promise<void> {
  await db.deleteFrom('auth_tokens').where('token_hash', '=', tokenHash).execute();
}

export async function deleteExpiredAuthTokens(db: Executor): Promise<void> {
  await db.deleteFrom('auth_tokens').where('expires_at', '<', sql<Date>`now()`).execute();
}
