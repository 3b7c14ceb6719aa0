/**
 * The webhook tables (migration 0012): subscriptions, per-session cursors, status changes and the
 * delivery queue. Every function takes an executor, so callers can run several in one transaction.
 * bigint columns come back from pg as strings: ids are turned into numbers here.
 */
import { sql, type Kysely, type Selectable, type Transaction } from 'kysely';
import type { DB, WebhookCursorsTable, WebhookDeliveriesTable, WebhooksTable } from '../schema.ts';
import { storableRow } from '../text.ts';

type Db = Kysely<DB> | Transaction<DB>;
export type WebhookRow = Selectable<WebhooksTable>;
export type CursorRow = Selectable<WebhookCursorsTable>;
export type DeliveryRow = Selectable<WebhookDeliveriesTable>;

const ms = (n: number) => `${Math.max(0, Math.round(n))} milliseconds`;

// ---- subscriptions -----------------------------------------------------------------------

export interface NewWebhook {
  id: string;
  url: string;
  events: string[];
  description: string | null;
  secret: string;
  owner: string;
  role: string;
  key_id: string | null;
  created_by: string;
}

export async function insertWebhook(db: Db, w: NewWebhook): Promise<WebhookRow> {
  // The URL and the secret are identifiers: a redacted one would point elsewhere or sign wrongly.
  // The description is free text and is made storable like any other.
  const { url, secret, ...rest } = w;
  return db.insertInto('webhooks').values({ ...storableRow(rest), url, secret }).returningAll().executeTakeFirstOrThrow();
}

/** Subscriptions visible to an owner (undefined: all), oldest first. */
export async function listWebhooks(db: Db, owner: string | undefined): Promise<WebhookRow[]> {
  let q = db.selectFrom('webhooks').selectAll();
  if (owner !== undefined) q = q.where('owner', '=', owner);
  return q.orderBy('created_at').orderBy('id').limit(1000).execute();
}

export async function webhooksByIds(db: Db, ids: string[]): Promise<Map<string, WebhookRow>> {
  if (ids.length === 0) return new Map();
  const rows = await db.selectFrom('webhooks').selectAll().where('id', 'in', ids).execute();
  return new Map(rows.map((w) => [w.id, w]));
}

export const findWebhook = (db: Db, id: string) => db.selectFrom('webhooks').selectAll().where('id', '=', id).executeTakeFirst();

export async function deleteWebhook(db: Db, id: string): Promise<WebhookRow | undefined> {
  return db.deleteFrom('webhooks').where('id', '=', id).returningAll().executeTakeFirst();
}

export async function countWebhooks(db: Db): Promise<number> {
  const r = await db.selectFrom('webhooks').select(sql<number>`count(*)::int`.as('n')).executeTakeFirstOrThrow();
  return Number(r.n);
}

/**
 * Subscriptions that may get events of a session owned by `owner`: an admin's, or the owner's,
 * whose key is still valid (revoking a key stops its subscriptions; null key: AUTH=off).
 */
export async function subscriptionsFor(db: Db, owner: string | null): Promise<Pick<WebhookRow, 'id' | 'events' | 'created_at'>[]> {
  return db
    .selectFrom('webhooks as w')
    .select(['w.id', 'w.events', 'w.created_at'])
    .where((eb) => eb.or([eb('w.role', '=', 'admin'), ...(owner === null ? [] : [eb('w.owner', '=', owner)])]))
    .where((eb) =>
      eb.or([
        eb('w.key_id', 'is', null),
        eb.exists(
          eb.selectFrom('api_keys as k').select('k.id').whereRef('k.id', '=', 'w.key_id').where('k.revoked_at', 'is', null)
            .where((e) => e.or([e('k.expires_at', 'is', null), e('k.expires_at', '>', sql<Date>`now()`)])),
        ),
      ]),
    )
    .execute();
}

// ---- cursors and status changes ----------------------------------------------------------

/** The session's cursor, made if absent, locked until the transaction ends. */
export async function lockCursor(tx: Transaction<DB>, sessionId: string): Promise<CursorRow> {
  await tx.insertInto('webhook_cursors').values({ session_id: sessionId, seen_updated_at: null }).onConflict((oc) => oc.column('session_id').doNothing()).execute();
  return tx.selectFrom('webhook_cursors').selectAll().where('session_id', '=', sessionId).forUpdate().executeTakeFirstOrThrow();
}

export async function saveCursor(db: Db, c: CursorRow): Promise<void> {
  const { session_id, ...rest } = c;
  await db.updateTable('webhook_cursors').set(rest).where('session_id', '=', session_id).execute();
}

export async function statusChangesAfter(db: Db, sessionId: string, afterId: number) {
  const rows = await db.selectFrom('webhook_status_changes').selectAll().where('session_id', '=', sessionId).where('id', '>', afterId).orderBy('id').limit(500).execute();
  return rows.map((r) => ({ ...r, id: Number(r.id) }));
}

/**
 * Sessions whose cursor lags (none yet, or the session changed since it was brought up to date),
 * among those changed within `windowS`: the sweep's work list.
 */
export async function laggingSessions(db: Db, windowS: number, limit: number): Promise<string[]> {
  const rows = await db
    .selectFrom('sessions as s')
    .leftJoin('webhook_cursors as c', 'c.session_id', 's.id')
    .select('s.id')
    .where('s.updated_at', '>', sql<Date>`now() - ${`${windowS} seconds`}::interval`)
    .where((eb) => eb.or([eb('c.session_id', 'is', null), sql<boolean>`c.seen_updated_at is distinct from s.updated_at`]))
    .orderBy('s.updated_at')
    .limit(limit)
    .execute();
  return rows.map((r) => r.id);
}

/** Old status changes (long since derived) and finished deliveries past their history. */
export async function pruneWebhookTables(db: Db, o: { statusChangesS: number; deliveriesS: number }): Promise<void> {
  await db.deleteFrom('webhook_status_changes').where('at', '<', sql<Date>`now() - ${`${o.statusChangesS} seconds`}::interval`).execute();
  await db.deleteFrom('webhook_deliveries').where('state', 'in', ['delivered', 'failed']).where('created_at', '<', sql<Date>`now() - ${`${o.deliveriesS} seconds`}::interval`).execute();
}

// ---- deliveries --------------------------------------------------------------------------

export interface NewDelivery {
  webhook_id: string;
  session_id: string;
  event_key: string;
  event_type: string;
  event_at: Date;
  data: Record<string, unknown>;
}

/** Queues deliveries; one whose (webhook, event key) is already there is not added again. */
export async function enqueueDeliveries(db: Db, rows: NewDelivery[]): Promise<number> {
  if (rows.length === 0) return 0;
  const r = await db
    .insertInto('webhook_deliveries')
    .values(rows.map((d) => ({ ...d, data: JSON.stringify(storableRow({ data: d.data }).data) })))
    .onConflict((oc) => oc.columns(['webhook_id', 'event_key']).doNothing())
    .executeTakeFirst();
  return Number(r.numInsertedOrUpdatedRows ?? 0n);
}

/**
 * Takes up to `limit` due deliveries for `leaseMs`: pending ones whose time has come and ones
 * whose sender's lease ran out (it stopped mid-way: sent again, at least once). A delivery waits
 * while an earlier one of its subscription and session is pending or sending, so each receiver
 * sees a session's events in order.
 */
export async function claimDeliveries(db: Db, limit: number, leaseMs: number): Promise<DeliveryRow[]> {
  const r = await sql<DeliveryRow>`
    update webhook_deliveries set state = 'sending', attempts = attempts + 1, lease_until = now() + ${ms(leaseMs)}::interval
    where id in (
      select d.id from webhook_deliveries d
      where ((d.state = 'pending' and d.next_attempt_at <= now()) or (d.state = 'sending' and d.lease_until < now()))
        and not exists (select 1 from webhook_deliveries p
          where p.webhook_id = d.webhook_id and p.session_id = d.session_id and p.id < d.id and p.state in ('pending', 'sending'))
      order by d.id
      limit ${limit}
      for update skip locked)
    returning *`.execute(db);
  return r.rows.map((d) => ({ ...d, id: Number(d.id) }));
}

export interface AttemptRecord {
  status: number | null;
  error: string | null;
  response: string | null;
}

const attemptColumns = (a: AttemptRecord) => ({
  ...storableRow({ last_error: a.error, last_response: a.response }),
  last_status: a.status,
  last_attempt_at: sql<Date>`now()`,
  lease_until: null,
});

export async function markDelivered(db: Db, id: number, a: AttemptRecord): Promise<void> {
  await db.updateTable('webhook_deliveries').set({ ...attemptColumns(a), state: 'delivered', delivered_at: sql<Date>`now()` }).where('id', '=', id).execute();
}

export async function markRetry(db: Db, id: number, delayMs: number, a: AttemptRecord): Promise<void> {
  await db.updateTable('webhook_deliveries').set({ ...attemptColumns(a), state: 'pending', next_attempt_at: sql<Date>`now() + ${ms(delayMs)}::interval` }).where('id', '=', id).execute();
}

export async function markFailed(db: Db, id: number, a: AttemptRecord): Promise<void> {
  await db.updateTable('webhook_deliveries').set({ ...attemptColumns(a), state: 'failed' }).where('id', '=', id).execute();
}

/** Newest first, `beforeId` for the next page. */
export async function listDeliveries(db: Db, webhookId: string, q: { limit: number; beforeId?: number | undefined; state?: string | undefined }): Promise<DeliveryRow[]> {
  let query = db.selectFrom('webhook_deliveries').selectAll().where('webhook_id', '=', webhookId);
  if (q.beforeId !== undefined) query = query.where('id', '<', q.beforeId);
  if (q.state !== undefined) query = query.where('state', '=', q.state);
  const rows = await query.orderBy('id', 'desc').limit(q.limit).execute();
  return rows.map((d) => ({ ...d, id: Number(d.id) }));
}

export async function findDelivery(db: Db, webhookId: string, id: number): Promise<DeliveryRow | undefined> {
  const d = await db.selectFrom('webhook_deliveries').selectAll().where('webhook_id', '=', webhookId).where('id', '=', id).executeTakeFirst();
  return d && { ...d, id: Number(d.id) };
}

/** Sends a delivery again (whatever its state, unless being sent now): due at once, with a fresh 24 h of retries. */
export async function requeueDelivery(db: Db, webhookId: string, id: number): Promise<DeliveryRow | undefined> {
  const d = await db
    .updateTable('webhook_deliveries')
    .set({ state: 'pending', attempts: 0, next_attempt_at: sql<Date>`now()`, retry_from: sql<Date>`now()`, lease_until: null })
    .where('webhook_id', '=', webhookId)
    .where('id', '=', id)
    .where('state', '<>', 'sending')
    .returningAll()
    .executeTakeFirst();
  return d && { ...d, id: Number(d.id) };
}

export async function deliveryCounts(db: Db): Promise<Record<string, number>> {
  const rows = await db.selectFrom('webhook_deliveries').select(['state', sql<number>`count(*)::int`.as('n')]).groupBy('state').execute();
  return Object.fromEntries(rows.map((r) => [r.state, Number(r.n)]));
}
