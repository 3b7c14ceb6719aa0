/** SQL for budgets: what an owner's turns cost in a time range, a running turn's cost so far, and a session's budget columns. */
import { sql } from 'kysely';
import type { Executor, SessionRow } from './sessions.ts';

/**
 * What the owner's turns cost since `since`: Claude Code's figure for those that ended at or after
 * it, plus the running estimate of those still running (whenever they started: they will end later,
 * so their cost falls in this day or a later one). Without the running ones, several turns of one
 * owner running at once could each spend the whole daily budget.
 */
export async function ownerSpentSince(db: Executor, owner: string, since: Date): Promise<number> {
  const row = await db
    .selectFrom('turns')
    .innerJoin('sessions', 'sessions.id', 'turns.session_id')
    .select(sql<string | null>`sum(case when turns.status = 'running' then turns.cost_estimate_usd else turns.cost_usd end)`.as('spent'))
    .where('sessions.owner', '=', owner)
    .where((eb) =>
      eb.or([
        eb.and([eb('turns.ended_at', '>=', since), eb('turns.cost_usd', 'is not', null)]),
        eb.and([eb('turns.status', '=', 'running'), eb('turns.cost_estimate_usd', 'is not', null)]),
      ]),
    )
    .executeTakeFirst();
  return Number(row?.spent ?? 0);
}

/** Stores a running turn's cost so far (only while it runs: an ended turn keeps its own figure). */
export async function setTurnCostEstimate(db: Executor, turnId: number, usd: number): Promise<void> {
  await db.updateTable('turns').set({ cost_estimate_usd: usd }).where('id', '=', turnId).where('status', '=', 'running').execute();
}

/** Sets the budget (undefined: unchanged) and the reached mark (undefined: unchanged). */
export async function setSessionBudget(db: Executor, id: string, set: { budgetUsd?: number | null; reachedAt?: Date | null }): Promise<SessionRow | undefined> {
  return db
    .updateTable('sessions')
    .set({
      ...(set.budgetUsd !== undefined ? { budget_usd: set.budgetUsd } : {}),
      ...(set.reachedAt !== undefined ? { budget_reached_at: set.reachedAt } : {}),
      updated_at: sql`now()`,
    })
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirst();
}
