/**
 * The API's objects as the dashboard sees them. Fields the session runner adds
 * (turn_state, queue_position, totals) are optional: older servers omit them.
 */
import type { CommandLog, Message } from '../../../src/sessions/types.ts';
import type { Approval, SessionPolicy } from './approval-types.ts';

// Messages, logs and pages have one definition, the server's (types only, erased at build).
export type { CommandLog, Message, Page } from '../../../src/sessions/types.ts';
// Turns with their tools and changes (issue 15 review): the server's definition too.
export type { Turn } from '../../../src/sessions/types.ts';

export const SESSION_STATUSES = ['active', 'paused', 'completed', 'error'] as const;
export type SessionStatus = (typeof SESSION_STATUSES)[number];

export const PROJECT_TYPES = ['github', 'local', 'worktree', 'e2b'] as const;
export type ProjectType = (typeof PROJECT_TYPES)[number];

export const PERMISSION_MODES = ['default', 'acceptEdits', 'plan', 'bypassPermissions'] as const;
export type PermissionMode = (typeof PERMISSION_MODES)[number];

export type TurnState = 'idle' | 'queued' | 'running';

export interface Totals {
  cost_usd?: number;
  input_tokens?: number;
  output_tokens?: number;
  num_turns?: number;
  turns?: number;
}

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
  /** Run by the orchestrator (it has turns), as opposed to only observed through hooks. */
  managed?: boolean;
  turn_state?: TurnState;
  queue_position?: number | null;
  totals?: Totals;
  /** model, permission_mode, allowed_tools, … the session's turns run with. */
  run_options?: Record<string, unknown>;
  /** The first prompt's first line, or set by a user; null (or absent on older servers) before any prompt. */
  title?: string | null;
  /** The approval policy the session was created with, or null (the server's applies). */
  policy?: SessionPolicy | null;
  /** Approval requests of this session waiting for a person. */
  pending_approvals?: number;
  /** Present in full-text search results (GET /api/sessions?q=). */
  search?: SearchHit;
  /** Budgets: the most it may spend (USD), and when a budget stopped it. */
  budget_usd?: number | null;
  budget_reached_at?: string | null;
  schedule_id?: string | null;
}

/** Why a session matched a search: plain text with [start, end) offsets of the matched words. */
export interface SearchHit {
  rank: number;
  hits: number;
  snippet: { kind: 'message' | 'log'; item_id: number; text: string; highlights: [number, number][] } | null;
}

/**
 * One event of GET /api/events (see src/http/sse.ts on the server). A huge one
 * arrives as a reference: `truncated`, its item cut to identifying fields, and
 * the `url` that returns the whole item (src/events/reference.ts). `seq` is not
 * sent by the server: LiveConnection numbers events in the order it receives them
 * (their position is the SSE id, `<xid>.<seq>`).
 */
export type LiveEvent = { seq: number; session_id: string; at: string; truncated?: true; url?: string } & (
  | { type: 'session.created'; session: Session }
  | { type: 'session.updated'; session: Session }
  | { type: 'message.created'; message: Message }
  | { type: 'log.created'; log: CommandLog }
  | { type: 'approval.updated'; approval: Approval }
);

export const LIVE_EVENT_TYPES = ['session.created', 'session.updated', 'message.created', 'log.created', 'approval.updated'] as const;

/** One audit log entry (GET /api/audit). */
export interface AuditEntry {
  id: number;
  at: string;
  actor: string;
  actor_role: string;
  actor_key_id: string | null;
  action: string;
  target: string | null;
  address: string | null;
  request_id: string | null;
  detail: Record<string, unknown>;
}

/** The server's stable action names (src/audit/audit-log.ts); the filter also takes others. */
export const AUDIT_ACTIONS = [
  'session.created',
  'session.status_changed',
  'message.sent',
  'key.created',
  'key.revoked',
  'auth.signin',
  'auth.signout',
  'request.refused',
  'slack.user_mapped',
  'slack.user_unmapped',
  'slack.channel_configured',
  'webhook.created',
  'webhook.deleted',
  'webhook.redelivered',
  'session.budget_changed',
  'schedule.created',
  'schedule.changed',
  'schedule.deleted',
] as const;
