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
