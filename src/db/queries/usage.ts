/** SQL for GET /api/usage: the cost and tokens of ended turns in a time range, grouped. */
import { sql } from 'kysely';
import type { Executor } from './sessions.ts';

export type UsageGroup = 'owner' | 'day' | 'schedule';

export interface UsageRow {
  key: string | null;
  cost_usd: number;
  input_tokens: number;
  output_tokens: number;
  turns: number;
  sessions: number;
}

const GROUP_KEY = {
  owner: sql<string | null>`sessions.owner`,
  // Days are UTC days, as the per-owner daily budget counts them.
  day: sql<string | null>`to_char(turns.ended_at at time zone 'UTC', 'YYYY-MM-DD')`,
  schedule: sql<string | null>`cast(sessions.schedule_id as text)`,
} as const;

export async function usageBy(db: Executor, q: { group: UsageGroup; from: Date; to: Date; owner: string | undefined }): Promise<UsageRow[]> {
  const key = GROUP_KEY[q.group];
  let query = db
    .selectFrom('turns')
    .innerJoin('sessions', 'sessions.id', 'turns.session_id')
    .select([
      key.as('key'),
      sql<string>`coalesce(sum(turns.cost_usd), 0)`.as('cost_usd'),
      sql<string>`coalesce(sum(turns.input_tokens), 0)`.as('input_tokens'),
      sql<string>`coalesce(sum(turns.output_tokens), 0)`.as('output_tokens'),
      sql<string>`count(*)`.as('turns'),
      sql<string>`count(distinct turns.session_id)`.as('sessions'),
    ])
    .where('turns.ended_at', '>=', q.from)
    .where('turns.ended_at', '<', q.to);
  if (q.owner !== undefined) query = query.where('sessions.owner', '=', q.owner);
  if (q.group === 'schedule') query = query.where('sessions.schedule_id', 'is not', null);
  const rows = await query.groupBy(key).orderBy(key).execute();
  return rows.map((r) => ({ key: r.key, cost_usd: Number(r.cost_usd), input_tokens: Number(r.input_tokens), output_tokens: Number(r.output_tokens), turns: Number(r.turns), sessions: Number(r.sessions) }));
}
