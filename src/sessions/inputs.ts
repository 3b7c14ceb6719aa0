/**
 * What callers give SessionService, and how each becomes a row (kept apart from the
 * service so the lifecycle code stays readable; the hook batch path builds rows too).
 */
import { randomUUID } from 'node:crypto';
import type { SessionPolicy } from '../approvals/policy.ts';
import type { NewCommandLogRow } from '../db/queries/command-logs.ts';
import type { NewMessageRow } from '../db/queries/messages.ts';
import type { NewSessionRow } from '../db/queries/sessions.ts';
import type { SessionFilter } from '../db/queries/session-filter.ts';
import type { Direction, LogStatus, ProjectType, SessionStatus, Source } from './types.ts';

export interface CreateSessionInput {
  id?: string | undefined;
  managed?: boolean | undefined;
  run_options?: Record<string, unknown> | undefined;
  project_path: string;
  project_type: ProjectType;
  claude_session_id?: string | null | undefined;
  status?: SessionStatus | undefined;
  source?: Source | undefined;
  owner?: string | null | undefined;
  metadata?: Record<string, unknown> | undefined;
  /** Default: null, then the first prompt's first line (set when that prompt is stored). */
  title?: string | null | undefined;
  budget_usd?: number | null | undefined;
  schedule_id?: string | null | undefined;
  /** The approval policy given at creation ({policy, mode}). */
  policy?: SessionPolicy | null | undefined;
}

export interface UpdateSessionInput {
  status?: SessionStatus | undefined;
  claude_session_id?: string | null | undefined;
  metadata?: Record<string, unknown> | undefined;
  title?: string | undefined;
}

export interface NewMessageInput {
  direction: Direction;
  content: string;
  source?: Source | undefined;
  metadata?: Record<string, unknown> | undefined;
}

export interface NewLogInput {
  tool: string;
  tool_use_id?: string | null | undefined;
  input: unknown;
  /** Already cut to size by the caller (see buildLogRow). */
  result: string | null;
  result_truncated: boolean;
  result_size: number | null;
  status: LogStatus;
  duration_ms?: number | null | undefined;
  metadata?: Record<string, unknown> | undefined;
}

export interface ListSessionsInput {
  limit: number;
  cursor?: string | undefined;
  /** Which sessions (status, owner, dates, tool...); see src/db/queries/session-filter.ts. */
  filter: SessionFilter;
}

export function sessionRow(input: CreateSessionInput): NewSessionRow {
  return {
    id: input.id ?? randomUUID(),
    managed: input.managed ?? false,
    run_options: input.run_options ?? {},
    claude_session_id: input.claude_session_id ?? null,
    project_path: input.project_path,
    project_type: input.project_type,
    status: input.status ?? 'active',
    source: input.source ?? 'api',
    owner: input.owner ?? null,
    metadata: input.metadata ?? {},
    title: input.title ?? null,
    ...(input.budget_usd != null ? { budget_usd: input.budget_usd } : {}),
    ...(input.schedule_id != null ? { schedule_id: input.schedule_id } : {}),
    policy: input.policy ? { ...input.policy } : null,
  };
}

export function messageRow(m: NewMessageInput): Omit<NewMessageRow, 'session_id'> {
  return { direction: m.direction, content: m.content, source: m.source ?? 'api', metadata: m.metadata ?? {} };
}

export function toLogRow(l: NewLogInput): NewCommandLogRow {
  return {
    tool_use_id: l.tool_use_id ?? null,
    tool: l.tool,
    input: l.input ?? null,
    result: l.result,
    result_truncated: l.result_truncated,
    result_size: l.result_size,
    status: l.status,
    duration_ms: l.duration_ms ?? null,
    metadata: l.metadata ?? {},
  };
}
