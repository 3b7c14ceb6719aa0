/**
 * SQL for turns as jobs (src/runner/dispatch.ts): the job queue only says "session S has work";
 * what runs is decided here, from the turns table, so a duplicate or late job never runs a turn
 * twice or out of order.
 */
import { sql } from 'kysely';
import type { SessionRow, Executor } from './sessions.ts';
import type { TurnRow } from './turns.ts';
import type { Kysely } from 'kysely';
import type { DB } from '../schema.ts';

/**
 * Moves the session's oldest queued turn to running, unless the session is paused or closed or its
 * workspace is not ready (then nothing: its turns wait for resume() or the preparation). The turn
 * row lock (SKIP LOCKED) keeps two claims of one turn apart; the queue keeps two handlers of one
 * session apart.
 */
export async function claimNextTurn(db: Executor, sessionId: string): Promise<TurnRow | undefined> {
  const r = await sql<TurnRow>`
    update turns set status = 'running', started_at = now()
    where id = (
      select t.id from turns t join sessions s on s.id = t.session_id
      where t.session_id = ${sessionId} and t.status = 'queued'
        and s.status not in ('paused', 'completed')
        and coalesce(s.metadata->'workspace'->>'state', 'ready') <> 'preparing'
      order by t.id limit 1
      for update of t skip locked)
    returning *`.execute(db);
  return r.rows[0];
}

/**
 * Committed before Claude Code starts: from here on the turn may have reached the model. Returns the
 * session's status as it is now (a pause or close stored elsewhere is seen before the start).
 */
export async function markTurnLaunched(db: Executor, id: number): Promise<string | undefined> {
  const r = await sql<{ status: string }>`
    update turns t set launched_at = now() from sessions s where t.id = ${id} and s.id = t.session_id
    returning s.status`.execute(db);
  return r.rows[0]?.status;
}

export async function listRunningTurns(db: Executor, sessionId: string): Promise<TurnRow[]> {
  return db.selectFrom('turns').selectAll().where('session_id', '=', sessionId).where('status', '=', 'running').orderBy('id').execute();
}

/**
 * Sets the session's turn state from its turns (running, else queued, else idle) and returns the row
 * when it changed. The session row is locked first and the state read by a later statement, so it
 * sees every turn committed before the lock: every writer of turns calls this after its write, and
 * the last call is therefore right, whichever process made it.
 */
export async function refreshTurnState(db: Kysely<DB>, sessionId: string): Promise<SessionRow | undefined> {
  return db.transaction().execute(async (tx) => {
    const locked = await sql<{ turn_state: string }>`select turn_state from sessions where id = ${sessionId} for update`.execute(tx);
    const current = locked.rows[0]?.turn_state;
    if (current === undefined) return undefined;
    const r = await sql<{ state: string }>`
      select case
        when exists (select 1 from turns where session_id = ${sessionId} and status = 'running') then 'running'
        when exists (select 1 from turns where session_id = ${sessionId} and status = 'queued') then 'queued'
        else 'idle' end as state`.execute(tx);
    const state = r.rows[0]!.state;
    if (state === current) return undefined;
    return tx.updateTable('sessions').set({ turn_state: state, updated_at: sql`now()` }).where('id', '=', sessionId).returningAll().executeTakeFirst();
  });
}

/**
 * 1-based place of each session's next turn among sessions waiting for a runner (not paused, nothing
 * running), by the age of their oldest queued turn. Sessions not waiting are absent.
 */
export async function queuePositions(db: Executor, sessionIds: string[]): Promise<Map<string, number>> {
  if (sessionIds.length === 0) return new Map();
  const r = await sql<{ session_id: string; position: string | number }>`
    with waiting as (
      select t.session_id, min(t.id) as first from turns t join sessions s on s.id = t.session_id
      where t.status = 'queued' and s.status not in ('paused', 'completed') and s.turn_state <> 'running'
        and coalesce(s.metadata->'workspace'->>'state', 'ready') <> 'preparing'
      group by t.session_id)
    select w.session_id, (select count(*) from waiting o where o.first <= w.first) as position
    from waiting w where w.session_id = any(${sessionIds}::uuid[])`.execute(db);
  return new Map(r.rows.map((row) => [row.session_id, Number(row.position)]));
}

/**
 * Sessions whose queued turns have fewer live jobs than turns (a crash between storing a message and
 * queueing its job, or jobs dropped by a pause): the reconciler queues the difference. Paused,
 * closed and preparing sessions wait for their own event.
 */
export async function sessionsMissingJobs(db: Executor, schema: string, queue: string): Promise<Array<{ session_id: string; missing: number }>> {
  const r = await sql<{ session_id: string; missing: string | number }>`
    select q.session_id, q.turns - coalesce(j.jobs, 0) as missing
    from (select t.session_id, count(*) as turns from turns t join sessions s on s.id = t.session_id
          where t.status = 'queued' and s.status not in ('paused', 'completed')
            and coalesce(s.metadata->'workspace'->>'state', 'ready') <> 'preparing'
          group by t.session_id) q
    left join (select singleton_key, count(*) as jobs from ${sql.table(`${schema}.job`)}
               where name = ${queue} and state in ('created', 'retry', 'active') group by singleton_key) j
      on j.singleton_key = q.session_id::text
    where q.turns > coalesce(j.jobs, 0)`.execute(db);
  return r.rows.map((row) => ({ session_id: row.session_id, missing: Number(row.missing) }));
}

/**
 * Running turns no job stands behind any more (its job was completed, failed for good, or removed):
 * nothing will ever finish them, so the reconciler settles them as its runner would have.
 */
export async function orphanedRunningTurns(db: Executor, schema: string, queue: string): Promise<TurnRow[]> {
  const r = await sql<TurnRow>`
    select t.* from turns t
    where t.status = 'running' and t.started_at < now() - interval '5 seconds'
      and not exists (select 1 from ${sql.table(`${schema}.job`)} j
                      where j.name = ${queue} and j.singleton_key = t.session_id::text and j.state in ('created', 'retry', 'active'))
    order by t.id`.execute(db);
  return r.rows;
}
