/** SQL for the review of turns: each turn's recorded changes and the tools it used. */
import { sql } from 'kysely';
import { jsonb, type Executor } from './sessions.ts';

/** Stores what a turn changed in its workspace (src/workspaces/turn-changes.ts). */
export async function setTurnChanges(db: Executor, turnId: number, changes: Record<string, unknown>): Promise<void> {
  await db.updateTable('turns').set({ changes: jsonb(changes) }).where('id', '=', turnId).execute();
}

export async function findTurnChanges(db: Executor, sessionId: string, turnId: number): Promise<{ changes: Record<string, unknown> | null } | undefined> {
  return db.selectFrom('turns').select('changes').where('session_id', '=', sessionId).where('id', '=', turnId).executeTakeFirst();
}

/**
 * Tool executions per turn and tool, for the given turns of one session: those logged between a
 * turn's start and its end (turns of a session run one at a time, so the windows do not overlap;
 * a running turn's window is open).
 */
export async function countToolsByTurn(db: Executor, sessionId: string, turnIds: number[]): Promise<{ turn_id: number; tool: string; n: number }[]> {
  if (turnIds.length === 0) return [];
  const r = await sql<{ turn_id: string | number; tool: string; n: number }>`
    select t.id as turn_id, c.tool, count(*)::int as n
    from turns t
    join command_logs c on c.session_id = t.session_id and c.timestamp >= t.started_at and c.timestamp <= coalesce(t.ended_at, now())
    where t.session_id = ${sessionId} and t.id in (${sql.join(turnIds)}) and t.started_at is not null
    group by t.id, c.tool
    order by t.id, count(*) desc, c.tool`.execute(db);
  return r.rows.map((x) => ({ turn_id: Number(x.turn_id), tool: x.tool, n: Number(x.n) }));
}
