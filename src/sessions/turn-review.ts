/**
 * Reading a session as a list of turns: each turn with the tools it used and what it changed
 * (the dashboard's timeline), and the stored snapshot pair its own diff is made from.
 */
import type { Kysely } from 'kysely';
import type { DB } from '../db/schema.ts';
import { countToolsByTurn, findTurnChanges } from '../db/queries/turn-review.ts';
import { AppError, notFound } from '../lib/errors.ts';
import type { Page, Turn } from './types.ts';

/** Fills each turn's `tools` (one query for the page). */
export async function withTools(db: Kysely<DB>, page: Page<Turn>): Promise<Page<Turn>> {
  const first = page.data[0];
  if (!first) return page;
  const counts = await countToolsByTurn(db, first.session_id, page.data.map((t) => t.id));
  const byTurn = new Map<number, { name: string; count: number }[]>();
  for (const c of counts) {
    const list = byTurn.get(c.turn_id) ?? [];
    list.push({ name: c.tool, count: c.n });
    byTurn.set(c.turn_id, list);
  }
  return { ...page, data: page.data.map((t) => ({ ...t, tools: byTurn.get(t.id) ?? [] })) };
}

/**
 * The two trees a turn's diff lies between. 404 for an unknown turn; 409 turn_diff_unavailable
 * when none were recorded: the turn has not ended, its session has no git workspace (a plain
 * folder, or one recorded only), its change scan failed, or it ran before snapshots were kept.
 */
export async function turnSnapshots(db: Kysely<DB>, sessionId: string, turnId: number): Promise<{ from: string; tree: string }> {
  const row = await findTurnChanges(db, sessionId, turnId);
  if (!row) throw notFound('turn', `${turnId} of session ${sessionId}`);
  const c = row.changes;
  if (!c || typeof c.from !== 'string' || typeof c.tree !== 'string') {
    throw new AppError(
      'turn_diff_unavailable',
      "no snapshot was recorded for this turn (it has not ended, the session's workspace is not a git repository, its change scan failed, or it ran before per-turn snapshots); GET /api/sessions/:id/diff has the session's whole diff",
      409,
    );
  }
  return { from: c.from, tree: c.tree };
}
