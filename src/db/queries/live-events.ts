/**
 * SQL for live_events (0009_live_events.sql): the shared, ordered log of live events.
 * Positions travel as decimal text (xid8 and bigint do not fit a JS number).
 */
import { sql } from 'kysely';
import { PREPARED } from '../prepared.ts';
import type { Executor } from './sessions.ts';

/** The channel every writer notifies once per batch; readers LISTEN on it. */
export const LIVE_CHANNEL = 'cco_live';

export interface NewLiveEvent {
  sessionId: string;
  type: string;
  json: string;
  /** The writing process's number for the event (OwnEvents); null: not kept, read back from the table. */
  ownN?: number | null | undefined;
}

export interface LiveEventRow {
  xid: string;
  seq: string;
  session_id: string;
  type: string;
  json: string;
}

/** Joins the batch's JSON texts: JSON.stringify writes every control character as an escape, so none holds it. */
const SEPARATOR = '\u0001';

/**
 * Inserts a batch, in order, and notifies readers: one statement, so one round trip and one
 * commit; the notification is delivered at that commit. Rows take seqs in array order
 * (ORDER BY n before the insert draws them), all with this statement's xid.
 *
 * The events' JSON goes as one text joined by U+0001, split again by string_to_table: sent as a
 * text[] literal, each was escaped once more by the driver and unescaped by array_in, and these
 * are the largest values the server writes (every hook's log, whole).
 */
export async function insertLiveEvents(db: Executor, events: readonly NewLiveEvent[], origin: string): Promise<void> {
  if (events.some((e) => e.json.includes(SEPARATOR))) throw new Error('a live event is not JSON.stringify output (it holds U+0001)');
  await sql`${PREPARED}
    with ins as (
      insert into live_events (session_id, type, json, origin, origin_n)
      select s, t, j, case when o is not null then ${origin}::text end, o
        from rows from (unnest(${events.map((e) => e.sessionId)}::text[]), unnest(${events.map((e) => e.type)}::text[]),
                        string_to_table(${events.map((e) => e.json).join(SEPARATOR)}::text, chr(1)),
                        unnest(${events.map((e) => e.ownN ?? null)}::bigint[])) with ordinality as u(s, t, j, o, n)
      order by n
      returning 1)
    select pg_notify(${LIVE_CHANNEL}, '') from (select count(*) from ins) c`.execute(db);
}

/**
 * Where a reader starting now starts: the newest final row (see readLiveEventsAfter), so every
 * row that is not final yet sorts after it. On an empty table, the oldest running transaction.
 * A row, when there is one, so that an id a client gets before any event arrives (the `ready`
 * id) names a row and can be resumed from elsewhere (hasLiveEventAtOrBefore).
 */
export async function snapshotStart(db: Executor): Promise<{ xid: string; seq: string }> {
  const r = await sql<{ xid: string; seq: string }>`
    select coalesce(last.xid, pg_snapshot_xmin(pg_current_snapshot()))::text as xid, coalesce(last.seq, 0)::text as seq
    from (select 1) one
    left join lateral (
      select e.xid, e.seq from live_events e where e.xid < pg_snapshot_xmin(pg_current_snapshot())
      order by e.xid desc, e.seq desc limit 1) last on true`.execute(db);
  return r.rows[0]!;
}

/**
 * Up to `limit` rows after the position, in order, each marked `final` when its transaction is
 * older than the oldest one running (see LiveEventReader for why only those may be delivered).
 * Final rows come first, since they sort by xid. The JSON comes only with final rows of other
 * writers: a row not final yet is read again later, and a row stamped with `origin` (the
 * reader's own process) comes with its number, `own_n`, to take from memory (OwnEvents).
 */
export async function readLiveEventsAfter(db: Executor, after: { xid: string; seq: string }, limit: number, origin: string | null): Promise<LiveEventReadRow[]> {
  const r = await sql<LiveEventReadRow>`${PREPARED}
    select e.xid::text as xid, e.seq::text as seq, e.session_id, e.type,
           case when e.xid < pg_snapshot_xmin(pg_current_snapshot()) and not coalesce(e.origin = ${origin}::text, false) then e.json end as json,
           case when e.origin = ${origin}::text then e.origin_n::text end as own_n,
           e.xid < pg_snapshot_xmin(pg_current_snapshot()) as final
    from live_events e
    where (e.xid, e.seq) > (${after.xid}::xid8, ${after.seq}::bigint)
    order by e.xid, e.seq -- qualified: a bare name would sort by the text output column
    limit ${limit}`.execute(db);
  return r.rows;
}

export interface LiveEventReadRow extends Omit<LiveEventRow, 'json'> {
  /** Null on a row not final yet, and on the reader's own rows (own_n set). */
  json: string | null;
  own_n: string | null;
  final: boolean;
}

/** One row's JSON, by position: an own row the writer no longer keeps (see OwnEvents). */
export async function readLiveEventJson(db: Executor, at: { xid: string; seq: string }): Promise<string | undefined> {
  const r = await sql<{ json: string }>`
    select json from live_events where (xid, seq) = (${at.xid}::xid8, ${at.seq}::bigint)`.execute(db);
  return r.rows[0]?.json;
}

/**
 * Rows after `after` and at most `upTo` (a position a reader has delivered, so all final), in
 * order, stopping once about `maxBytes` of json is had (always at least one row when any is
 * there): a replay is read in pieces, never whole.
 */
export async function readLiveEventsBetween(db: Executor, after: { xid: string; seq: string }, upTo: { xid: string; seq: string }, maxBytes: number, limit: number): Promise<LiveEventRow[]> {
  const r = await sql<LiveEventRow>`
    select xid, seq, session_id, type, json from (
      select e.xid::text as xid, e.seq::text as seq, e.session_id, e.type, e.json,
             sum(octet_length(e.json)) over (order by e.xid, e.seq) - octet_length(e.json) as before
      from live_events e
      where (e.xid, e.seq) > (${after.xid}::xid8, ${after.seq}::bigint) and (e.xid, e.seq) <= (${upTo.xid}::xid8, ${upTo.seq}::bigint)
      order by e.xid, e.seq
      limit ${limit}) piece
    where before < ${maxBytes}
    order by xid::xid8, seq::bigint`.execute(db);
  return r.rows;
}

/**
 * Is a row at or before the position still there? The pruner always keeps the newest row of
 * what it removes, so when one is, nothing after the position has been pruned.
 */
export async function hasLiveEventAtOrBefore(db: Executor, at: { xid: string; seq: string }): Promise<boolean> {
  const r = await sql<{ found: boolean }>`
    select exists (select 1 from live_events where (xid, seq) <= (${at.xid}::xid8, ${at.seq}::bigint)) as found`.execute(db);
  return r.rows[0]?.found === true;
}

/**
 * Deletes up to `limit` of the oldest rows written before `cutoffS` seconds ago, keeping the
 * newest of them: readers tell a pruned position (no row at or before it) from a live one by
 * that row. Only final rows are looked at, so no row still to become visible sorts below the
 * kept one. Safe when several processes run it at once: each deletes below a row it keeps,
 * so the newest kept row survives. Returns the rows deleted.
 */
export async function pruneLiveEvents(db: Executor, cutoffS: number, limit: number): Promise<number> {
  const r = await sql<{ deleted: string }>`
    with head as (
      select xid, seq, at from live_events
      where xid < pg_snapshot_xmin(pg_current_snapshot())
      order by xid, seq
      limit ${limit + 1}),
    keep as (
      select xid, seq from head where at < now() - make_interval(secs => ${cutoffS})
      order by xid desc, seq desc limit 1),
    gone as (
      delete from live_events e using keep where (e.xid, e.seq) < (keep.xid, keep.seq) returning 1)
    select count(*)::text as deleted from gone`.execute(db);
  return Number(r.rows[0]?.deleted ?? 0);
}
