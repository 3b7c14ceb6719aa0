/** SQL for command_logs. */
import { sql, type Selectable } from 'kysely';
import type { CommandLogsTable } from '../schema.ts';
import { jsonb, type Executor } from './sessions.ts';

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
export async function insertCommandLog(db: Executor, sessionId: string, l: NewCommandLogRow): Promise<CommandLogRow | undefined> {
  const r = await sql<CommandLogRow>`
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
}

/**
 * The hook path: finds the session by Claude Code's session id, creating it if this
 * is the first event of a run started outside the orchestrator, then inserts the
 * log. One statement, so concurrent first events of one run create one session.
 * Returns the session id and whether the log was new.
 */
export async function upsertSessionAndInsertLog(
  db: Executor,
  seed: ClaudeSessionSeed,
  l: NewCommandLogRow,
): Promise<{ sessionId: string; createdSession: boolean; log: CommandLogRow | undefined }> {
  const r = await sql<CommandLogRow & { s_id: string; s_created: boolean }>`
    with s as (
      insert into sessions (id, claude_session_id, project_path, project_type, status, source, metadata)
      values (${seed.id}, ${seed.claudeSessionId}, ${seed.projectPath}, 'local', 'active', 'cli', ${jsonb(seed.metadata)})
      on conflict (claude_session_id) do update set updated_at = now()
      returning id, (xmax = 0) as created
    ),
    ins as (
      insert into command_logs (session_id, tool_use_id, tool, input, result, result_truncated, result_size, status, duration_ms, metadata)
      select s.id, ${l.tool_use_id}, ${l.tool}, ${jsonb(l.input)}, ${l.result}, ${l.result_truncated}, ${l.result_size},
             ${l.status}, ${l.duration_ms}, ${jsonb(l.metadata)}
      from s
      on conflict (session_id, tool_use_id) do nothing
      returning *
    )
    select s.id as s_id, s.created as s_created, ins.* from s left join ins on true`.execute(db);
  const row = r.rows[0];
  if (!row) throw new Error('session upsert returned no row');
  const { s_id, s_created, ...log } = row;
  return { sessionId: s_id, createdSession: s_created, log: log.id == null ? undefined : (log as CommandLogRow) };
}

export interface LogListQuery {
  limit: number;
  afterId?: number | undefined;
  tool?: string | undefined;
  status?: string | undefined;
}

export async function listCommandLogs(db: Executor, sessionId: string, q: LogListQuery): Promise<CommandLogRow[]> {
  let query = db.selectFrom('command_logs').selectAll().where('session_id', '=', sessionId);
  if (q.tool) query = query.where('tool', '=', q.tool);
  if (q.status) query = query.where('status', '=', q.status);
  if (q.afterId !== undefined) query = query.where('id', '>', q.afterId);
  return query.orderBy('id', 'asc').limit(q.limit).execute();
}
