/** SQL for command_logs. */
import { sql, type Selectable } from 'kysely';
import type { CommandLogsTable } from '../schema.ts';
import { unnestRows, type ElementType } from '../binary-rows.ts';
import { PREPARED } from '../prepared.ts';
import { storableRow } from '../text.ts';
import { jsonb, type Executor, type SessionRow } from './sessions.ts';

export type CommandLogRow = Selectable<CommandLogsTable>;

export interface NewCommandLogRow {
  tool_use_id: string | null;
  tool: string;
  input: unknown;
  result: string | null;
  result_truncated: boolean;
  result_size: number | null;
  status: string;
  duration_ms: number | null;
  metadata: Record<string, unknown>;
}

/**
 * Inserts one log for a known session and touches its updated_at, in one round
 * trip. Returns undefined when the session does not exist or the tool_use_id was
 * already stored (a redelivered event).
 */
export async function insertCommandLog(db: Executor, sessionId: string, log: NewCommandLogRow): Promise<CommandLogRow | undefined> {
  const l = storableRow(log, { in: 'metadata' });
  const r = await sql<CommandLogRow>`${PREPARED}
    with touched as (
      update sessions set updated_at = now() where id = ${sessionId} returning id
    )
    insert into command_logs (session_id, tool_use_id, tool, input, result, result_truncated, result_size, status, duration_ms, metadata)
    select touched.id, ${l.tool_use_id}, ${l.tool}, ${jsonb(l.input)}, ${l.result}, ${l.result_truncated}, ${l.result_size},
           ${l.status}, ${l.duration_ms}, ${jsonb(l.metadata)}
    from touched
    on conflict (session_id, tool_use_id) do nothing
    returning *`.execute(db);
  return r.rows[0];
}

export interface ClaudeSessionSeed {
  id: string;
  claudeSessionId: string;
  projectPath: string;
  metadata: Record<string, unknown>;
  /** Whose session it is when this event creates it (the hook token's owner). */
  owner: string | null;
  /** The only owner whose existing session the event may write to; null: any (an admin key). */
  scope?: string | null | undefined;
}

/**
 * The hook path: finds the session by Claude Code's session id, creating it if this
 * is the first event of a run started outside the orchestrator, then inserts the
 * log. One statement, so concurrent first events of one run create one session.
 * Returns the session id and whether the log was new.
 */
export async function upsertSessionAndInsertLog(
  db: Executor,
  sessionSeed: ClaudeSessionSeed,
  newLog: NewCommandLogRow,
): Promise<{ sessionId: string; createdSession: boolean; log: CommandLogRow | undefined; foreign?: true | undefined }> {
  const seed = storableRow(sessionSeed, { in: 'metadata' });
  const l = storableRow(newLog, { in: 'metadata' });
  const scope = sessionSeed.scope ?? null;
  const r = await sql<CommandLogRow & { s_id: string; s_created: boolean; s_owner: string | null }>`${PREPARED}
    with s as (
      insert into sessions (id, claude_session_id, project_path, project_type, status, source, owner, metadata)
      values (${seed.id}, ${seed.claudeSessionId}, ${seed.projectPath}, 'local', 'active', 'cli', ${seed.owner}, ${jsonb(seed.metadata)})
      on conflict (claude_session_id) do update set updated_at = now()
      returning id, owner, (xmax = 0) as created
    ),
    ins as (
      insert into command_logs (session_id, tool_use_id, tool, input, result, result_truncated, result_size, status, duration_ms, metadata)
      select s.id, ${l.tool_use_id}, ${l.tool}, ${jsonb(l.input)}, ${l.result}, ${l.result_truncated}, ${l.result_size},
             ${l.status}, ${l.duration_ms}, ${jsonb(l.metadata)}
      from s where ${scope}::text is null or s.owner = ${scope}
      on conflict (session_id, tool_use_id) do nothing
      returning *
    )
    select s.id as s_id, s.created as s_created, s.owner as s_owner, ins.* from s left join ins on true`.execute(db);
  const row = r.rows[0];
  if (!row) throw new Error('session upsert returned no row');
  const { s_id, s_created, s_owner, ...log } = row;
  if (scope !== null && s_owner !== scope) return { sessionId: s_id, createdSession: false, log: undefined, foreign: true };
  return { sessionId: s_id, createdSession: s_created, log: log.id == null ? undefined : (log as CommandLogRow) };
}

export interface LogListQuery {
  limit: number;
  afterId?: number | undefined;
  tool?: string | undefined;
  status?: string | undefined;
}

/** One tool execution of a session (the item a live event refers to). */
export async function findCommandLog(db: Executor, sessionId: string, id: number): Promise<CommandLogRow | undefined> {
  return db.selectFrom('command_logs').selectAll().where('session_id', '=', sessionId).where('id', '=', id).executeTakeFirst();
}

export async function listCommandLogs(db: Executor, sessionId: string, q: LogListQuery): Promise<CommandLogRow[]> {
  let query = db.selectFrom('command_logs').selectAll().where('session_id', '=', sessionId);
  if (q.tool) query = query.where('tool', '=', q.tool);
  if (q.status) query = query.where('status', '=', q.status);
  if (q.afterId !== undefined) query = query.where('id', '>', q.afterId);
  return query.orderBy('id', 'asc').limit(q.limit).execute();
}

export interface ClaudeLogItem {
  seed: ClaudeSessionSeed;
  log: NewCommandLogRow;
}

export interface ClaudeLogOutcome {
  sessionId: string;
  /** The session row when this item's event created it. */
  createdSession: SessionRow | undefined;
  log: CommandLogRow | undefined;
  /** The Claude session belongs to an owner outside the item's scope: nothing was written for it. */
  foreign?: true | undefined;
}

/**
 * upsertSessionAndInsertLog for many events in one statement (one round trip,
 * one commit). Sessions are upserted once per Claude session id, in id order so
 * concurrent batches lock them in the same order. Log ids are drawn up front so
 * each event learns its own row even without a tool_use_id; an event whose
 * tool_use_id is already stored (or repeated earlier in the batch) gets no log.
 */
export async function upsertSessionsAndInsertLogs(db: Executor, items: readonly ClaudeLogItem[]): Promise<ClaudeLogOutcome[]> {
  const input = items.map((it) => {
    const seed = storableRow(it.seed, { in: 'metadata' });
    return { new_id: seed.id, claude_session_id: seed.claudeSessionId, project_path: seed.projectPath, session_owner: seed.owner, owner_scope: it.seed.scope ?? null, session_metadata: seed.metadata, ...storableLog(it.log) };
  });
  // Only what the database made comes back (id, session, time): the rest of each row is what was sent,
  // so a batch's text is not serialized, sent and parsed a second time.
  const r = await sql<{ sessions: (SessionRow & { created: boolean })[]; logs: Pick<CommandLogRow, 'id' | 'session_id' | 'timestamp'>[]; log_ids: number[] }>`${PREPARED}
    with input as materialized (
      -- The bigserial's sequence by its name: pg_get_serial_sequence() here ran once per row.
      select x.*, nextval('command_logs_id_seq'::regclass) as log_id
      from ${unnestRows('x', TOOL_BATCH_COLUMNS, input)}
      order by x.ord
    ),
    s as (
      insert into sessions (id, claude_session_id, project_path, project_type, status, source, owner, metadata)
      select distinct on (claude_session_id) new_id, claude_session_id, project_path, 'local', 'active', 'cli', session_owner, session_metadata
      from input order by claude_session_id, ord
      on conflict (claude_session_id) do update set updated_at = now()
      returning *, (xmax = 0) as created
    ),
    ins as (
      insert into command_logs (id, session_id, tool_use_id, tool, input, result, result_truncated, result_size, status, duration_ms, metadata)
      select i.log_id, s.id, i.tool_use_id, i.tool, i.input, i.result, i.result_truncated, i.result_size, i.status, i.duration_ms, i.metadata
      -- A key writes only to its own owner's sessions (owner_scope null: an admin key, any session).
      from input i join s on s.claude_session_id = i.claude_session_id and (i.owner_scope is null or s.owner = i.owner_scope)
      order by i.ord
      on conflict (session_id, tool_use_id) do nothing
      returning id, session_id, timestamp
    )
    select (select coalesce(jsonb_agg(s), '[]'::jsonb) from s) as sessions,
           (select coalesce(jsonb_agg(ins), '[]'::jsonb) from ins) as logs,
           (select jsonb_agg(log_id order by ord) from input) as log_ids`.execute(db);
  const row = r.rows[0];
  if (!row) throw new Error('batch upsert returned no row');
  const sessions = new Map(row.sessions.map((s) => [s.claude_session_id, s]));
  const logs = new Map(row.logs.map((l) => [Number(l.id), l]));
  const creators = new Set<string>();
  return items.map((it, ord) => {
    const s = sessions.get(it.seed.claudeSessionId);
    if (!s) throw new Error('batch upsert lost a session');
    const creates = s.created && !creators.has(s.id);
    if (creates) creators.add(s.id);
    const { created: _created, ...session } = s;
    const scope = it.seed.scope ?? null;
    // The same rule as the hook ingest's inScope (src/hooks/ingest.ts), which this layer cannot import.
    if (scope !== null && s.owner !== scope) return { sessionId: s.id, createdSession: undefined, log: undefined, foreign: true };
    const made = logs.get(Number(row.log_ids[ord]));
    const log = made && sentLogRow(made, input[ord]!);
    return { sessionId: s.id, createdSession: creates ? session : undefined, log };
  });
}

/** The columns of a log as a batch statement reads them (binary-rows.ts). */
export const LOG_COLUMNS = {
  tool_use_id: 'text', tool: 'text', input: 'jsonb', result: 'text', result_truncated: 'bool', result_size: 'int4',
  status: 'text', duration_ms: 'int4', metadata: 'jsonb',
} as const satisfies Record<keyof NewCommandLogRow, ElementType>;

const TOOL_BATCH_COLUMNS = {
  new_id: 'uuid', claude_session_id: 'text', project_path: 'text', session_owner: 'text', owner_scope: 'text', session_metadata: 'jsonb', ...LOG_COLUMNS,
} as const;

/** A log as it is sent to the database (redacted, storable text; input null rather than undefined). */
export function storableLog(log: NewCommandLogRow): NewCommandLogRow {
  const l = storableRow(log, { in: 'metadata' });
  return { ...l, input: l.input ?? null };
}

/** The stored row: what the database made (id, session, time) and the rest as it was sent. */
export function sentLogRow(made: Pick<CommandLogRow, 'id' | 'session_id' | 'timestamp'>, sent: NewCommandLogRow): CommandLogRow {
  return {
    ...made,
    tool_use_id: sent.tool_use_id,
    tool: sent.tool,
    input: sent.input,
    result: sent.result,
    result_truncated: sent.result_truncated,
    result_size: sent.result_size,
    status: sent.status,
    duration_ms: sent.duration_ms,
    metadata: sent.metadata,
  };
}
