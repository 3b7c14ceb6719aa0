/** Row -> API object. Dates become ISO strings; enums are trusted (the DB checks them). */
import type { CommandLogRow } from '../db/queries/command-logs.ts';
import type { EffectivePolicy, SessionPolicy } from '../approvals/policy.ts';
import type { MessageRow } from '../db/queries/messages.ts';
import type { SessionEventRow } from '../db/queries/session-events.ts';
import type { SessionRow } from '../db/queries/sessions.ts';
import type { TurnRow } from '../db/queries/turns.ts';
import type { CommandLog, Direction, LogStatus, Message, ProjectType, Session, SessionEvent, SessionStatus, Source, Turn, TurnChangeCounts, TurnState, TurnStatus } from './types.ts';

const iso = (d: Date | string) => (d instanceof Date ? d.toISOString() : new Date(d).toISOString());

export function toSession(r: SessionRow): Session {
  return {
    id: r.id,
    claude_session_id: r.claude_session_id,
    project_path: r.project_path,
    project_type: r.project_type as ProjectType,
    status: r.status as SessionStatus,
    source: r.source,
    owner: r.owner,
    created_at: iso(r.created_at),
    updated_at: iso(r.updated_at),
    metadata: r.metadata ?? {},
    managed: Boolean(r.managed),
    turn_state: (r.turn_state ?? 'idle') as TurnState,
    queue_position: null,
    totals: {
      cost_usd: Number(r.cost_usd ?? 0),
      input_tokens: Number(r.input_tokens ?? 0),
      output_tokens: Number(r.output_tokens ?? 0),
      num_turns: Number(r.num_turns ?? 0),
      turns: Number(r.turns ?? 0),
    },
    run_options: r.run_options ?? {},
    title: r.title ?? null,
    budget_usd: r.budget_usd === null || r.budget_usd === undefined ? null : Number(r.budget_usd),
    budget_reached_at: r.budget_reached_at ? iso(r.budget_reached_at) : null,
    schedule_id: r.schedule_id ?? null,
    policy: (r.policy as unknown as SessionPolicy | null) ?? null,
  };
}

export function toMessage(r: MessageRow): Message {
  return {
    id: Number(r.id),
    session_id: r.session_id,
    direction: r.direction as Direction,
    content: r.content,
    source: r.source as Source,
    timestamp: iso(r.timestamp),
    metadata: r.metadata ?? {},
  };
}

export function toCommandLog(r: CommandLogRow): CommandLog {
  return {
    id: Number(r.id),
    session_id: r.session_id,
    tool_use_id: r.tool_use_id,
    tool: r.tool,
    input: r.input ?? null,
    result: r.result,
    result_truncated: Boolean(r.result_truncated),
    result_size: r.result_size,
    status: r.status as LogStatus,
    duration_ms: r.duration_ms,
    timestamp: iso(r.timestamp),
    metadata: r.metadata ?? {},
  };
}

export function toSessionEvent(r: SessionEventRow): SessionEvent {
  return { id: Number(r.id), session_id: r.session_id, event: r.event, data: r.data ?? {}, timestamp: iso(r.timestamp) };
}

const isoOrNull = (d: Date | string | null) => (d === null ? null : iso(d));

export function toTurn(r: TurnRow): Turn {
  const num = (v: unknown) => (v === null || v === undefined ? null : Number(v));
  return {
    id: Number(r.id),
    session_id: r.session_id,
    message_id: num(r.message_id),
    prompt: r.prompt,
    source: r.source,
    status: r.status as TurnStatus,
    created_at: iso(r.created_at),
    started_at: isoOrNull(r.started_at),
    ended_at: isoOrNull(r.ended_at),
    cost_usd: num(r.cost_usd),
    input_tokens: num(r.input_tokens),
    output_tokens: num(r.output_tokens),
    num_turns: num(r.num_turns),
    duration_ms: num(r.duration_ms),
    is_error: r.is_error,
    subtype: r.subtype,
    terminal_reason: r.terminal_reason,
    error: r.error,
    policy: (r.policy as unknown as EffectivePolicy | null) ?? null,
    tools: [],
    changes: turnChangeCounts(r.changes),
  };
}

/** The counts of a turn's stored changes (its trees stay internal: the diff route reads them). */
function turnChangeCounts(c: Record<string, unknown> | null | undefined): TurnChangeCounts | null {
  if (!c || typeof c.files_changed !== 'number') return null;
  return {
    files_changed: c.files_changed,
    lines_added: Number(c.lines_added ?? 0),
    lines_removed: Number(c.lines_removed ?? 0),
    files: Array.isArray(c.files) ? (c.files as TurnChangeCounts['files']) : [],
  };
}
