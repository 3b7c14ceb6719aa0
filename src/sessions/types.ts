/**
 * Glossary
 * - session: one line of work by Claude Code in one workspace; has a conversation
 *   (messages) and a tool log. Maps to one Claude Code session id once known.
 * - message: a user, assistant or system entry in a session's conversation.
 * - command log: one tool execution (Bash, Edit, ...) with input, result and duration.
 * - hook event: a JSON payload Claude Code sends to a hook; tool events become command logs,
 *   the others session events (prompts and Stop also become messages).
 * - session event: a stored non-tool hook event (SessionStart, SessionEnd, Notification, ...).
 * - source: where a message or session came from (api, dashboard, slack, n8n, cli, schedule).
 */
import type { EffectivePolicy, SessionPolicy } from '../approvals/policy.ts';
export const PROJECT_TYPES = ['github', 'local', 'worktree', 'e2b'] as const;
export type ProjectType = (typeof PROJECT_TYPES)[number];

export const SESSION_STATUSES = ['active', 'paused', 'completed', 'error'] as const;
export type SessionStatus = (typeof SESSION_STATUSES)[number];

export const DIRECTIONS = ['user', 'assistant', 'system'] as const;
export type Direction = (typeof DIRECTIONS)[number];

export const SOURCES = ['slack', 'dashboard', 'n8n', 'cli', 'api', 'schedule'] as const;
export type Source = (typeof SOURCES)[number];

export const LOG_STATUSES = ['completed', 'error'] as const;
export type LogStatus = (typeof LOG_STATUSES)[number];

/**
 * Allowed status changes. `completed` is final; `error` may be reopened (a user
 * retries after fixing the cause). Setting the current status again is a no-op.
 */
export const TRANSITIONS: Record<SessionStatus, readonly SessionStatus[]> = {
  active: ['paused', 'completed', 'error'],
  paused: ['active', 'completed', 'error'],
  error: ['active', 'completed'],
  completed: [],
};

export interface Session {
  id: string;
  claude_session_id: string | null;
  project_path: string;
  project_type: ProjectType;
  status: SessionStatus;
  source: string;
  owner: string | null;
  created_at: string;
  updated_at: string;
  metadata: Record<string, unknown>;
  /** True when the orchestrator runs Claude Code for this session (user messages start turns). */
  managed: boolean;
  turn_state: TurnState;
  /** Place in the wait queue for a free run slot (1 = next), when turn_state is queued. */
  queue_position: number | null;
  totals: SessionTotals;
  run_options: Record<string, unknown>;
  /** What the session is about: its first prompt's first line, or set by a user; null before any prompt. */
  title: string | null;
  /** The most the session may spend (USD; null: no limit of its own). Spent: totals.cost_usd. */
  budget_usd: number | null;
  /** When a budget (its own or its owner's for the day) stopped it; null while it may run. */
  budget_reached_at: string | null;
  /** The schedule whose run made this session. */
  schedule_id: string | null;
  /** The approval policy given at creation ({policy, mode}), or null (the server's applies). */
  policy: SessionPolicy | null;
  /** Requests waiting for a decision (set by SessionCommands.decorate). */
  pending_approvals?: number | undefined;
}

export const TURN_STATES = ['idle', 'queued', 'running'] as const;
export type TurnState = (typeof TURN_STATES)[number];

export interface SessionTotals {
  /** Claude Code's running total for the session, in USD. */
  cost_usd: number;
  input_tokens: number;
  output_tokens: number;
  /** Model round trips, summed over turns. */
  num_turns: number;
  /** Turns run by the orchestrator. */
  turns: number;
}

export interface Message {
  id: number;
  session_id: string;
  direction: Direction;
  content: string;
  source: Source;
  timestamp: string;
  metadata: Record<string, unknown>;
}

export interface CommandLog {
  id: number;
  session_id: string;
  tool_use_id: string | null;
  tool: string;
  input: unknown;
  result: string | null;
  result_truncated: boolean;
  result_size: number | null;
  status: LogStatus;
  duration_ms: number | null;
  timestamp: string;
  metadata: Record<string, unknown>;
}

export interface SessionEvent {
  id: number;
  session_id: string;
  /** Claude Code's hook event name, e.g. SessionStart. */
  event: string;
  data: Record<string, unknown>;
  timestamp: string;
}

export interface Page<T> {
  data: T[];
  next_cursor: string | null;
}

export const TURN_STATUSES = ['queued', 'running', 'completed', 'error', 'interrupted', 'timed_out', 'cancelled'] as const;
export type TurnStatus = (typeof TURN_STATUSES)[number];

/** One prompt run by the orchestrator, from queue to result. */
export interface Turn {
  id: number;
  session_id: string;
  message_id: number | null;
  prompt: string;
  source: string;
  status: TurnStatus;
  created_at: string;
  started_at: string | null;
  ended_at: string | null;
  cost_usd: number | null;
  input_tokens: number | null;
  output_tokens: number | null;
  num_turns: number | null;
  duration_ms: number | null;
  is_error: boolean | null;
  subtype: string | null;
  terminal_reason: string | null;
  error: string | null;
  /** The approval policies in force when the turn ran. */
  policy: EffectivePolicy | null;
  /** Tools the turn used, most used first (its command logs between start and end). */
  tools: { name: string; count: number }[];
  /** What the turn changed in its workspace; null when unknown (no git workspace, scan failed, older turn). */
  changes: TurnChangeCounts | null;
}

export interface TurnChangeCounts {
  files_changed: number;
  lines_added: number;
  lines_removed: number;
  /** Up to 200 files; null counts for a binary file. */
  files: { path: string; added: number | null; removed: number | null }[];
}
