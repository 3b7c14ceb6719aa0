/** SQL for turns and the runner's columns on sessions. */
import { sql, type Kysely, type Selectable } from 'kysely';
import type { DB, TurnsTable } from '../schema.ts';
import { PRESENCE_ALIVE_SQL } from '../presence.ts';
import { storableRow } from '../text.ts';
import { jsonb, type Executor } from './sessions.ts';

export type TurnRow = Selectable<TurnsTable>;

export async function insertTurn(db: Executor, t: { session_id: string; message_id: number | null; prompt: string; source: string; close_after?: boolean | undefined }): Promise<TurnRow> {
  // The prompt's message carries the text_replaced flag; the turn keeps a copy of its text.
  return db.insertInto('turns').values(storableRow(t)).returningAll().executeTakeFirstOrThrow();
}

/** Moves a queued turn to running; undefined if it was cancelled meanwhile. */
export async function claimTurn(db: Executor, id: number): Promise<TurnRow | undefined> {
  return db
    .updateTable('turns')
    // A turn queued again before Claude Code started spent nothing: no estimate carries over (budgets).
    .set({ status: 'running', started_at: sql`now()`, cost_estimate_usd: null })
    .where('id', '=', id)
    .where('status', '=', 'queued')
    .returningAll()
    .executeTakeFirst();
}

/** Claude Code reported the turn's start (system/init) in Claude session `claudeSessionId`. */
export async function markTurnInit(db: Executor, id: number, claudeSessionId: string): Promise<void> {
  await db.updateTable('turns').set({ init_at: sql`coalesce(init_at, now())`, claude_session_id: claudeSessionId }).where('id', '=', id).execute();
}

/** Puts a turn that never reached Claude Code back in the queue. */
export async function requeueTurn(db: Executor, id: number): Promise<void> {
  await db.updateTable('turns').set({ status: 'queued', started_at: null, pid: null, launched_at: null }).where('id', '=', id).execute();
}

/** A running turn whose runner is gone before Claude Code started: back to the queue (once). */
export async function requeueRunningTurn(db: Executor, id: number): Promise<boolean> {
  const r = await db.updateTable('turns').set({ status: 'queued', started_at: null, pid: null, launched_at: null }).where('id', '=', id).where('status', '=', 'running').executeTakeFirst();
  return Number(r.numUpdatedRows) > 0;
}

/** A claimed turn whose session was closed before Claude Code started: it never ran. */
export async function cancelClaimedTurn(db: Executor, id: number): Promise<void> {
  await db.updateTable('turns').set({ status: 'cancelled', ended_at: sql`now()`, pid: null }).where('id', '=', id).where('status', '=', 'running').execute();
}

/** Ends a turn still marked running as failed; undefined when it was already finished. */
export async function turnStatus(db: Executor, id: number): Promise<string | undefined> {
  const r = await db.selectFrom('turns').select('status').where('id', '=', id).executeTakeFirst();
  return r?.status;
}

export async function failRunningTurn(db: Executor, id: number, o: TurnOutcome): Promise<TurnRow | undefined> {
  return db.updateTable('turns').set({ ...storableRow(o), ended_at: sql`now()` }).where('id', '=', id).where('status', '=', 'running').returningAll().executeTakeFirst();
}

/**
 * What the earlier turns run in one Claude Code session recorded as cost. Claude Code reports
 * cost as a running total of its session, so a turn's own cost is that total less this sum.
 */
export async function claudeSessionCostBefore(db: Executor, sessionId: string, claudeSessionId: string, turnId: number): Promise<number> {
  const row = await db
    .selectFrom('turns')
    .select(sql<string | number | null>`sum(cost_usd)`.as('cost'))
    .where('session_id', '=', sessionId)
    .where('claude_session_id', '=', claudeSessionId)
    .where('id', '<', turnId)
    .executeTakeFirst();
  return Number(row?.cost ?? 0);
}

export async function setTurnPid(db: Executor, id: number, pid: number): Promise<void> {
  await db.updateTable('turns').set({ pid }).where('id', '=', id).execute();
}

/** The approval policy in force for the turn (stored with it, shown with the session's turns). */
export async function setTurnPolicy(db: Executor, id: number, policy: object): Promise<void> {
  await db.updateTable('turns').set({ policy: JSON.stringify(policy) }).where('id', '=', id).execute();
}

export interface TurnOutcome {
  status: 'completed' | 'error' | 'interrupted' | 'timed_out';
  cost_usd: number | null;
  input_tokens: number | null;
  output_tokens: number | null;
  num_turns: number | null;
  duration_ms: number | null;
  is_error: boolean | null;
  subtype: string | null;
  terminal_reason: string | null;
  error: string | null;
}

export async function finishTurn(db: Executor, id: number, o: TurnOutcome): Promise<TurnRow | undefined> {
  return db
    .updateTable('turns')
    .set({ ...storableRow(o), ended_at: sql`now()` })
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirst();
}

export async function findTurn(db: Executor, sessionId: string, id: number): Promise<TurnRow | undefined> {
  return db.selectFrom('turns').selectAll().where('session_id', '=', sessionId).where('id', '=', id).executeTakeFirst();
}

/** The session's first turn (the prompt it was created with). */
export async function firstTurnId(db: Executor, sessionId: string): Promise<number | undefined> {
  const r = await db.selectFrom('turns').select('id').where('session_id', '=', sessionId).orderBy('id').limit(1).executeTakeFirst();
  return r ? Number(r.id) : undefined;
}

/**
 * A finished turn's answer: its last assistant message. Turns of a session run one at a time, so
 * the assistant messages stored between its start and its end are its own (a message posted
 * meanwhile for a later turn is a user message).
 */
export async function turnAnswer(db: Executor, t: Pick<TurnRow, 'session_id' | 'started_at' | 'ended_at'>): Promise<string | null> {
  if (!t.started_at || !t.ended_at) return null;
  const r = await db
    .selectFrom('session_messages')
    .select('content')
    .where('session_id', '=', t.session_id)
    .where('direction', '=', 'assistant')
    .where('timestamp', '>=', t.started_at)
    .where('timestamp', '<=', t.ended_at)
    .orderBy('id', 'desc')
    .limit(1)
    .executeTakeFirst();
  return r?.content ?? null;
}

/** Open sessions with a finished close_after turn (the runner closing them was lost): the reconciler closes them. */
export async function sessionsToCloseAfterTurn(db: Executor): Promise<Array<{ session_id: string; turn_id: number }>> {
  const r = await sql<{ session_id: string; turn_id: string | number }>`
    select t.session_id, max(t.id) as turn_id from turns t join sessions s on s.id = t.session_id
    where t.close_after and t.status in ('completed', 'error', 'interrupted', 'timed_out', 'cancelled')
      and s.status <> 'completed'
    group by t.session_id`.execute(db);
  return r.rows.map((row) => ({ session_id: row.session_id, turn_id: Number(row.turn_id) }));
}

export async function listTurns(db: Executor, sessionId: string, limit: number, afterId?: number): Promise<TurnRow[]> {
  let q = db.selectFrom('turns').selectAll().where('session_id', '=', sessionId);
  if (afterId !== undefined) q = q.where('id', '>', afterId);
  return q.orderBy('id', 'asc').limit(limit).execute();
}

/** Unfinished turns in creation order (start-up recovery). */
export async function listOpenTurns(db: Executor): Promise<TurnRow[]> {
  return db.selectFrom('turns').selectAll().where('status', 'in', ['queued', 'running']).orderBy('id', 'asc').execute();
}

export async function cancelQueuedTurns(db: Executor, sessionId: string): Promise<TurnRow[]> {
  return db
    .updateTable('turns')
    .set({ status: 'cancelled', ended_at: sql`now()` })
    .where('session_id', '=', sessionId)
    .where('status', '=', 'queued')
    .returningAll()
    .execute();
}

/**
 * Adds a finished turn to the session's totals. Every figure is the turn's own
 * (cost included: the runner turns Claude Code's running total into the turn's
 * share), so the session's totals are the sums over its turns.
 */
export async function addSessionTotals(
  db: Executor,
  sessionId: string,
  t: { cost_usd: number; input_tokens: number; output_tokens: number; num_turns: number },
): Promise<void> {
  await db
    .updateTable('sessions')
    .set({
      cost_usd: sql`cost_usd + ${t.cost_usd}`,
      input_tokens: sql`input_tokens + ${t.input_tokens}`,
      output_tokens: sql`output_tokens + ${t.output_tokens}`,
      num_turns: sql`num_turns + ${t.num_turns}`,
      turns: sql`turns + 1`,
      updated_at: sql`now()`,
    })
    .where('id', '=', sessionId)
    .execute();
}

export async function setTurnState(db: Executor, sessionId: string, state: 'idle' | 'queued' | 'running'): Promise<void> {
  await db.updateTable('sessions').set({ turn_state: state, updated_at: sql`now()` }).where('id', '=', sessionId).execute();
}

/** After a restart: a session is queued if it has queued turns, otherwise idle (nothing runs yet). */
export async function resetTurnStates(db: Executor): Promise<void> {
  await sql`update sessions set turn_state = case
      when exists (select 1 from turns t where t.session_id = sessions.id and t.status = 'queued') then 'queued' else 'idle' end
    where turn_state <> 'idle' or exists (select 1 from turns t where t.session_id = sessions.id and t.status = 'queued')`.execute(db);
}

export async function listPausedManagedSessionIds(db: Executor): Promise<string[]> {
  const rows = await db.selectFrom('sessions').select('id').where('managed', '=', true).where('status', '=', 'paused').execute();
  return rows.map((r) => r.id);
}

export async function listQueuedTurnIds(db: Executor, sessionId: string): Promise<number[]> {
  const rows = await db.selectFrom('turns').select('id').where('session_id', '=', sessionId).where('status', '=', 'queued').orderBy('id', 'asc').execute();
  return rows.map((r) => Number(r.id));
}

/**
 * Start-up recovery: gives a queued turn to every user message a managed session
 * acknowledged but never ran (stored by an older version, or by a crash between
 * the two writes). Left alone: messages stored without a run on purpose
 * (`metadata.run = false`), prompts recorded from hooks (they ran outside), and
 * anything older than the session's newest turn (its history before the
 * orchestrator took it over). Returns the turns made, oldest first.
 */
export async function insertTurnsForUnrunMessages(db: Kysely<DB>): Promise<TurnRow[]> {
  // Several runners may start at once: one at a time, or two would give a message two turns.
  return db.transaction().execute(async (tx) => {
    await sql`select pg_advisory_xact_lock(7320114002)`.execute(tx);
    const r = await sql<TurnRow>`
      insert into turns (session_id, message_id, prompt, source)
      select m.session_id, m.id, m.content, m.source
      from session_messages m join sessions s on s.id = m.session_id
      where m.direction = 'user' and s.managed and s.status <> 'completed'
        and coalesce(s.metadata->'workspace'->>'state', 'ready') = 'ready'
        and m.metadata->'hook_event' is null
        and coalesce(m.metadata->>'run', '') <> 'false'
        and not exists (select 1 from turns t where t.message_id = m.id)
        and m.id > coalesce((select max(t.message_id) from turns t where t.session_id = m.session_id), 0)
      order by m.id
      returning *`.execute(tx);
    return r.rows;
  });
}

/**
 * Recovery: sessions whose workspace was still being prepared when the process
 * preparing it stopped (all of them for a process alone on its database). Their preparation died with it; they are marked failed (state
 * failed, status error) and their queued turns cancelled. Returns their ids.
 */
export async function failPreparingWorkspaces(db: Executor, error: { code: string; message: string }, opts: { onlyOrphaned: boolean }): Promise<string[]> {
  // Beside other processes, only preparations whose process is gone (src/db/presence.ts).
  const orphaned = opts.onlyOrphaned ? sql.raw(`and not ${PRESENCE_ALIVE_SQL("case when metadata->'workspace'->>'preparer' ~ '^[0-9]{1,10}$' then metadata->'workspace'->>'preparer' else '0' end")}`) : sql``;
  const r = await sql<{ id: string }>`
    with failed as (
      update sessions set status = case when status = 'completed' then status else 'error' end, turn_state = 'idle', updated_at = now(),
        metadata = jsonb_set(metadata, '{workspace}', (metadata->'workspace') || jsonb_build_object('state', 'failed', 'error', ${jsonb(error)}))
      where metadata->'workspace'->>'state' = 'preparing' ${orphaned}
      returning id
    ), cancelled as (
      update turns set status = 'cancelled', ended_at = now() where status = 'queued' and session_id in (select id from failed)
    )
    select id from failed`.execute(db);
  return r.rows.map((row) => row.id);
}
