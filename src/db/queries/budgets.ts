/** SQL for budgets: what an owner's turns cost in a time range, and a session's budget columns. */
import { sql } from 'kysely';
import type { Executor, SessionRow } from './sessions.ts';

/** The cost of the owner's turns that ended at or after `since` (turns still running are not counted). */
export async function ownerSpentSince(db: Executor, owner: string, since: Date): Promise<number> {
  const row = await db
    .selectFrom('turns')
    .innerJoin('sessions', 'sessions.id', 'turns.session_id')
    .select(sql<string | null>`sum(turns.cost_usd)`.as('spent'))
    .where('sessions.owner', '=', owner)
    .where('turns.ended_at', '>=', since)
    .where('turns.cost_usd', 'is not', null)
    .executeTakeFirst();
  return Number(row?.spent ?? 0);
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
