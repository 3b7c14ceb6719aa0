/** SQL for turns and the runner's columns on sessions. */
import { sql, type Selectable } from 'kysely';
import type { TurnsTable } from '../schema.ts';
import type { Executor } from './sessions.ts';

export type TurnRow = Selectable<TurnsTable>;

export async function insertTurn(db: Executor, t: { session_id: string; message_id: number | null; prompt: string; source: string }): Promise<TurnRow> {
  return db.insertInto('turns').values(t).returningAll().executeTakeFirstOrThrow();
}

/** Moves a queued turn to running; undefined if it was cancelled meanwhile. */
export async function claimTurn(db: Executor, id: number): Promise<TurnRow | undefined> {
  return db
    .updateTable('turns')
    .set({ status: 'running', started_at: sql`now()` })
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
  await db.updateTable('turns').set({ status: 'queued', started_at: null, pid: null }).where('id', '=', id).execute();
}

/** A claimed turn whose session was closed before Claude Code started: it never ran. */
export async function cancelClaimedTurn(db: Executor, id: number): Promise<void> {
  await db.updateTable('turns').set({ status: 'cancelled', ended_at: sql`now()`, pid: null }).where('id', '=', id).where('status', '=', 'running').execute();
}

/** Ends a turn still marked running as failed; undefined when it was already finished. */
export async function failRunningTurn(db: Executor, id: number, o: TurnOutcome): Promise<TurnRow | undefined> {
  return db.updateTable('turns').set({ ...o, ended_at: sql`now()` }).where('id', '=', id).where('status', '=', 'running').returningAll().executeTakeFirst();
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
    .set({ ...o, ended_at: sql`now()` })
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirst();
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
