/**
 * What test:chaos asserts at the end, read from the database itself and from the scripted model's
 * turn counts: every turn in a truthful final state, nothing acknowledged missing, no turn run twice.
 */
import type pg from 'pg';
import type { TurnCount } from '../../src/model-server/server.ts';

/** What the servers acknowledged with a 2xx. */
export interface Acks {
  sessions: Set<string>;
  /** Message id -> session id. */
  messages: Map<number, string>;
  /** Turn id -> marker of its prompt. */
  turns: Map<number, string>;
  /** tool_use_id of every hook event acknowledged. */
  logs: Set<string>;
  /** Session id -> turn id of the last round's message. */
  finalTurns: Map<string, number>;
}

export const newAcks = (): Acks => ({ sessions: new Set(), messages: new Map(), turns: new Map(), logs: new Set(), finalTurns: new Map() });

interface TurnRow {
  id: string;
  session_id: string;
  prompt: string;
  status: string;
  created_at: Date;
  started_at: Date | null;
  error: string | null;
}

const markerOf = (prompt: string) => [...prompt.matchAll(/TURN_ID:([A-Za-z0-9_.-]+)/g)].at(-1)?.[1];

export async function openTurns(pool: pg.Pool): Promise<number> {
  const r = await pool.query<{ n: string }>(`select count(*) as n from turns where status in ('queued', 'running')`);
  return Number(r.rows[0]!.n);
}

export interface CheckResult {
  violations: string[];
  byStatus: Record<string, number>;
  turnStarts: number;
}

export async function checkFinalState(pool: pg.Pool, acks: Acks, counts: Map<string, TurnCount>): Promise<CheckResult> {
  const violations: string[] = [];
  const add = (v: string) => violations.push(v);
  const turns = (await pool.query<TurnRow>('select id, session_id, prompt, status, created_at, started_at, error from turns order by id')).rows;
  const byStatus: Record<string, number> = {};
  const seenMarkers = new Map<string, string>();
  const answers = new Set(
    (await pool.query<{ session_id: string; content: string }>(`select session_id, content from session_messages where direction = 'assistant'`)).rows.map((m) => `${m.session_id}/${m.content}`),
  );
  const systemAt = new Map<string, Date[]>();
  for (const m of (await pool.query<{ session_id: string; timestamp: Date }>(`select session_id, timestamp from session_messages where direction = 'system'`)).rows) {
    systemAt.set(m.session_id, [...(systemAt.get(m.session_id) ?? []), m.timestamp]);
  }
  for (const t of turns) {
    byStatus[t.status] = (byStatus[t.status] ?? 0) + 1;
    const marker = markerOf(t.prompt);
    const where = `turn ${t.id} (session ${t.session_id}, ${marker ?? 'no marker'})`;
    if (!marker) continue; // a turn the harness did not post (none expected, but not ours to judge)
    const other = seenMarkers.get(marker);
    if (other) add(`${where}: the same message became two turns (also turn ${other})`);
    seenMarkers.set(marker, t.id);
    const starts = counts.get(marker)?.starts ?? 0;
    if (starts > 1) add(`${where}: ran ${starts} times (the model saw ${starts} conversations start)`);
    switch (t.status) {
      case 'queued':
      case 'running':
        add(`${where}: still ${t.status} after the run settled`);
        break;
      case 'completed':
        if (!answers.has(`${t.session_id}/answer ${marker}`)) add(`${where}: completed but its answer is not stored`);
        if (starts !== 1) add(`${where}: completed but the model saw ${starts} starts`);
        break;
      case 'interrupted': {
        const since = t.started_at ?? t.created_at;
        if (!(systemAt.get(t.session_id) ?? []).some((at) => at >= since)) add(`${where}: interrupted without a system message`);
        break;
      }
      default:
        // Scripted turns do not fail, time out or get cancelled here: another state is a wrong account of a crash.
        add(`${where}: ended ${t.status}${t.error ? ` (${t.error.slice(0, 200)})` : ''}`);
    }
  }
  const ids = (sql: string) => pool.query<{ id: string }>(sql).then((r) => new Set(r.rows.map((x) => String(x.id))));
  const sessions = await ids('select id from sessions');
  for (const s of acks.sessions) if (!sessions.has(s)) add(`session ${s}: created with 201 but missing`);
  const messages = await ids('select id from session_messages');
  for (const [id, s] of acks.messages) if (!messages.has(String(id))) add(`message ${id} (session ${s}): acknowledged but missing`);
  const turnIds = new Set(turns.map((t) => String(t.id)));
  for (const [id, marker] of acks.turns) if (!turnIds.has(String(id))) add(`turn ${id} (${marker}): acknowledged but missing`);
  const logs = new Set((await pool.query<{ tool_use_id: string }>('select tool_use_id from command_logs where tool_use_id is not null')).rows.map((r) => r.tool_use_id));
  let lostLogs = 0;
  for (const id of acks.logs) if (!logs.has(id)) lostLogs++;
  if (lostLogs) add(`${lostLogs} of ${acks.logs.size} hook logs acknowledged but missing`);
  const status = new Map(turns.map((t) => [String(t.id), t.status]));
  for (const s of acks.sessions) {
    const final = acks.finalTurns.get(s);
    if (final === undefined) add(`session ${s}: its last-round message was not accepted`);
    else if (status.get(String(final)) !== 'completed') add(`session ${s}: last-round turn ${final} ended ${status.get(String(final)) ?? 'missing'}, not completed`);
  }
  const turnStarts = [...counts.values()].reduce((n, c) => n + c.starts, 0);
  return { violations, byStatus, turnStarts };
}
