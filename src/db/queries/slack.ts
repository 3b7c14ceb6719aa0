/**
 * Slack's tables (migration 0011): threads, the inbound inbox, the outbound outbox, channel
 * defaults and the user map. Every function takes an executor, so callers can run several in one
 * transaction.
 */
import { sql, type Kysely, type Selectable, type Transaction } from 'kysely';
import type { DB, SlackOutboxTable, SlackThreadsTable } from '../schema.ts';
import { storableRow } from '../text.ts';

type Db = Kysely<DB> | Transaction<DB>;
export type SlackThreadRow = Selectable<SlackThreadsTable>;
export type OutboxRow = Selectable<SlackOutboxTable>;

const json = (v: unknown) => JSON.stringify(v);

// ---- inbox -------------------------------------------------------------------------------

/** Stores an inbound request under Slack's id for it; false when that id was seen before (a retry). */
export async function acceptInbound(db: Db, row: { key: string; kind: string; payload: Record<string, unknown> }): Promise<boolean> {
  const r = await db
    .insertInto('slack_inbox')
    .values(storableRow({ key: row.key, kind: row.kind, payload: json(row.payload) }))
    .onConflict((oc) => oc.column('key').doNothing())
    .executeTakeFirst();
  return Number(r.numInsertedOrUpdatedRows ?? 0n) === 1;
}

/** Takes an inbound request to process for `leaseMs`; undefined when done or held by another process. */
export async function claimInbound(db: Db, key: string, leaseMs: number) {
  return db
    .updateTable('slack_inbox')
    .set({ attempts: sql`attempts + 1`, lease_until: sql`now() + ${`${leaseMs} milliseconds`}::interval` })
    .where('key', '=', key)
    .where('state', '=', 'received')
    .where((eb) => eb.or([eb('lease_until', 'is', null), eb('lease_until', '<', sql<Date>`now()`)]))
    .returning(['key', 'kind', 'payload', 'attempts'])
    .executeTakeFirst();
}

export async function finishInbound(db: Db, key: string, error?: string): Promise<void> {
  await db
    .updateTable('slack_inbox')
    .set({ state: error === undefined ? 'done' : 'failed', done_at: sql`now()`, lease_until: null, error: error ?? null })
    .where('key', '=', key)
    .execute();
}

/** Requests left unprocessed by a process that stopped (its lease passed, or it never took one), oldest first. */
export async function abandonedInbound(db: Db, olderThanMs: number, limit: number): Promise<string[]> {
  const rows = await db
    .selectFrom('slack_inbox')
    .select('key')
    .where('state', '=', 'received')
    .where('received_at', '<', sql<Date>`now() - ${`${olderThanMs} milliseconds`}::interval`)
    .where((eb) => eb.or([eb('lease_until', 'is', null), eb('lease_until', '<', sql<Date>`now()`)]))
    .orderBy('received_at')
    .limit(limit)
    .execute();
  return rows.map((r) => r.key);
}

/** Processed requests are only kept to recognise retries, which Slack sends within minutes. */
export async function pruneInbound(db: Db, olderThanS: number): Promise<void> {
  await db.deleteFrom('slack_inbox').where('state', '<>', 'received').where('received_at', '<', sql<Date>`now() - ${`${olderThanS} seconds`}::interval`).execute();
}

// ---- threads -----------------------------------------------------------------------------

export async function insertThread(
  db: Db,
  row: { session_id: string; team_id: string; channel_id: string; thread_ts: string | null; starter_user_id: string; inbox_key: string },
): Promise<SlackThreadRow | undefined> {
  return db.insertInto('slack_threads').values(row).onConflict((oc) => oc.column('inbox_key').doNothing()).returningAll().executeTakeFirst();
}

export const threadByInboxKey = (db: Db, key: string) => db.selectFrom('slack_threads').selectAll().where('inbox_key', '=', key).executeTakeFirst();
export const threadBySession = (db: Db, sessionId: string) => db.selectFrom('slack_threads').selectAll().where('session_id', '=', sessionId).executeTakeFirst();
export const threadById = (db: Db, id: number) => db.selectFrom('slack_threads').selectAll().where('id', '=', id).executeTakeFirst();

export const threadByTs = (db: Db, channel: string, threadTs: string) =>
  db.selectFrom('slack_threads').selectAll().where('channel_id', '=', channel).where('thread_ts', '=', threadTs).executeTakeFirst();

export async function deleteThread(db: Db, id: number): Promise<void> {
  await db.deleteFrom('slack_threads').where('id', '=', id).execute();
}

/** The thread row, locked until the transaction ends: one process at a time brings a thread up to date. */
export const lockThread = (tx: Transaction<DB>, id: number) => tx.selectFrom('slack_threads').selectAll().where('id', '=', id).forUpdate().executeTakeFirst();

export async function setThreadCursor(db: Db, id: number, c: { synced_message_id: number; synced_turn_id: number; status_line: string | null }): Promise<void> {
  await db.updateTable('slack_threads').set(c).where('id', '=', id).execute();
}

/** The head post landed: it is the thread's status line, and (for a thread the bot began) its root. */
export async function setThreadHead(db: Db, id: number, headTs: string, threadTs: string | null): Promise<void> {
  await db
    .updateTable('slack_threads')
    .set({ head_ts: headTs, thread_ts: threadTs === null ? sql`coalesce(thread_ts, ${headTs})` : threadTs })
    .where('id', '=', id)
    .execute();
}

/** Threads whose sessions may still change (the periodic sweep brings them up to date). */
export async function liveThreadIds(db: Db, limit: number): Promise<number[]> {
  const rows = await db
    .selectFrom('slack_threads as t')
    .innerJoin('sessions as s', 's.id', 't.session_id')
    .select('t.id')
    .where((eb) => eb.or([eb('s.status', '<>', 'completed'), eb('s.turn_state', '<>', 'idle'), eb('s.updated_at', '>', sql<Date>`now() - interval '10 minutes'`)]))
    .orderBy('t.id', 'desc')
    .limit(limit)
    .execute();
  return rows.map((r) => r.id);
}

// ---- outbox ------------------------------------------------------------------------------

export interface NewOutboxRow {
  thread_id: number | null;
  channel_id: string;
  kind: string;
  payload: Record<string, unknown>;
  dedupe_key: string | null;
}

/** Adds posts; one whose dedupe_key is already there is not added again. */
export async function enqueueOutbox(db: Db, rows: NewOutboxRow[]): Promise<number> {
  if (rows.length === 0) return 0;
  const r = await db
    .insertInto('slack_outbox')
    .values(rows.map((r) => storableRow({ ...r, payload: json(r.payload) })))
    .onConflict((oc) => oc.column('dedupe_key').doNothing())
    .executeTakeFirst();
  return Number(r.numInsertedOrUpdatedRows ?? 0n);
}

/** A status edit not yet sent is replaced by the newer one instead of queueing both. */
export async function replacePendingStatus(db: Db, threadId: number, payload: Record<string, unknown>): Promise<boolean> {
  const r = await db
    .updateTable('slack_outbox')
    .set({ payload: json(payload) })
    .where('thread_id', '=', threadId)
    .where('kind', '=', 'status')
    .where('state', '=', 'pending')
    .executeTakeFirst();
  return Number(r.numUpdatedRows) > 0;
}

/**
 * Takes up to `limit` posts that are due for `leaseMs`: pending ones whose time has come, and ones
 * whose sender's lease ran out (it may or may not have posted: the sender checks). A post waits
 * while an earlier post of its thread is unsent (or held: a head post waits for its session), so
 * a thread reads in order.
 */
export async function claimOutbox(db: Db, limit: number, leaseMs: number): Promise<OutboxRow[]> {
  const r = await sql<OutboxRow>`
    update slack_outbox set state = 'sending', attempts = attempts + 1, lease_until = now() + ${`${leaseMs} milliseconds`}::interval,
      -- A lease that ran out: its sender may have posted before it stopped (the sender looks first).
      last_error = case when state = 'sending' then 'unsure: the sending process stopped' else last_error end
    where id in (
      select o.id from slack_outbox o
      where ((o.state = 'pending' and o.next_attempt_at <= now()) or (o.state = 'sending' and o.lease_until < now()))
        and not exists (select 1 from slack_outbox p where p.thread_id = o.thread_id and p.id < o.id and p.state in ('held', 'pending', 'sending'))
      order by o.id
      limit ${limit}
      for update skip locked)
    returning *`.execute(db);
  return r.rows;
}

export async function markOutboxSent(db: Db, id: number, result: Record<string, unknown>): Promise<void> {
  await db.updateTable('slack_outbox').set({ state: 'sent', sent_at: sql`now()`, lease_until: null, result: json(result), last_error: null }).where('id', '=', id).execute();
}

export async function markOutboxRetry(db: Db, id: number, delayMs: number, error: string): Promise<void> {
  await db
    .updateTable('slack_outbox')
    .set({ state: 'pending', lease_until: null, last_error: error, next_attempt_at: sql`now() + ${`${Math.max(0, Math.round(delayMs))} milliseconds`}::interval` })
    .where('id', '=', id)
    .execute();
}

export async function markOutboxFailed(db: Db, id: number, error: string): Promise<void> {
  await db.updateTable('slack_outbox').set({ state: 'failed', lease_until: null, last_error: error }).where('id', '=', id).execute();
}

/** Sent posts are kept a while for `cco slack outbox` and diagnosis; the thread cursors keep them from being queued again. */
export async function pruneOutbox(db: Db, olderThanS: number): Promise<void> {
  await db.deleteFrom('slack_outbox').where('state', '=', 'sent').where('sent_at', '<', sql<Date>`now() - ${`${olderThanS} seconds`}::interval`).execute();
}

export async function outboxCounts(db: Db): Promise<Record<string, number>> {
  const rows = await db.selectFrom('slack_outbox').select(['state', sql<number>`count(*)::int`.as('n')]).groupBy('state').execute();
  return Object.fromEntries(rows.map((r) => [r.state, Number(r.n)]));
}

// ---- channel defaults and user map -------------------------------------------------------

export async function channelDefaults(db: Db, team: string, channel: string): Promise<Record<string, unknown> | undefined> {
  const r = await db.selectFrom('slack_channel_defaults').select('options').where('team_id', '=', team).where('channel_id', '=', channel).executeTakeFirst();
  return r?.options;
}

export async function setChannelDefaults(db: Db, team: string, channel: string, options: Record<string, unknown>, by: string): Promise<void> {
  await db
    .insertInto('slack_channel_defaults')
    .values({ team_id: team, channel_id: channel, options: json(options), updated_by: by })
    .onConflict((oc) => oc.columns(['team_id', 'channel_id']).doUpdateSet({ options: json(options), updated_by: by, updated_at: sql`now()` }))
    .execute();
}

export async function mappedKeyName(db: Db, userId: string): Promise<string | undefined> {
  return (await db.selectFrom('slack_user_map').select('key_name').where('user_id', '=', userId).executeTakeFirst())?.key_name;
}

export async function mapUser(db: Db, userId: string, keyName: string, by: string): Promise<void> {
  await db
    .insertInto('slack_user_map')
    .values({ user_id: userId, key_name: keyName, created_by: by })
    .onConflict((oc) => oc.column('user_id').doUpdateSet({ key_name: keyName, created_by: by, created_at: sql`now()` }))
    .execute();
}

export async function unmapUser(db: Db, userId: string): Promise<boolean> {
  const r = await db.deleteFrom('slack_user_map').where('user_id', '=', userId).executeTakeFirst();
  return Number(r.numDeletedRows) > 0;
}

export const listUserMap = (db: Db) => db.selectFrom('slack_user_map').selectAll().orderBy('user_id').execute();
