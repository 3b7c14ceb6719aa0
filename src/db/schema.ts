/** Row types of the tables, as Kysely sees them. Generated/defaulted columns are `Generated`. */
import type { ColumnType, Generated } from 'kysely';

type Timestamp = ColumnType<Date, Date | string | undefined, Date | string>;
type Json = ColumnType<Record<string, unknown>, string, string>;
type JsonAny = ColumnType<unknown, string, string>;

export interface SessionsTable {
  id: string;
  claude_session_id: string | null;
  project_path: string;
  project_type: string;
  status: string;
  source: string;
  owner: string | null;
  created_at: Timestamp;
  updated_at: Timestamp;
  metadata: Json;
  managed: Generated<boolean>;
  turn_state: Generated<string>;
  run_options: ColumnType<Record<string, unknown>, string | undefined, string>;
  cost_usd: Generated<number>;
  input_tokens: Generated<number>;
  output_tokens: Generated<number>;
  num_turns: Generated<number>;
  turns: Generated<number>;
  // --- review (0015) ---
  /** First line of the first prompt, or set by the user (PATCH); null before any prompt. */
  title: ColumnType<string | null, string | null | undefined, string | null>;
  /** The policy given at creation (approvals, migration 0014): {policy, mode}. */
  policy: ColumnType<Record<string, unknown> | null, string | null | undefined, string | null>;
}

export interface SessionMessagesTable {
  id: Generated<number>;
  session_id: string;
  direction: string;
  content: string;
  source: string;
  timestamp: Timestamp;
  metadata: Json;
}

export interface CommandLogsTable {
  id: Generated<number>;
  session_id: string;
  tool_use_id: string | null;
  tool: string;
  input: JsonAny;
  result: string | null;
  result_truncated: Generated<boolean>;
  result_size: number | null;
  status: string;
  duration_ms: number | null;
  timestamp: Timestamp;
  metadata: Json;
}

export interface SessionEventsTable {
  id: Generated<number>;
  session_id: string;
  event: string;
  /** The sender's event id (x-cco-event-id or Idempotency-Key); null when it sent none. */
  event_key: string | null;
  data: Json;
  timestamp: Timestamp;
}

export interface SlackThreadsTable {
  id: Generated<number>;
  session_id: string;
  team_id: string;
  channel_id: string;
  thread_ts: string | null;
  head_ts: string | null;
  starter_user_id: string;
  inbox_key: string;
  synced_message_id: Generated<number>;
  synced_turn_id: Generated<number>;
  status_line: string | null;
  created_at: Generated<Date>;
}

export interface SlackInboxTable {
  key: string;
  kind: string;
  payload: Json;
  state: Generated<string>;
  attempts: Generated<number>;
  lease_until: Date | null;
  received_at: Generated<Date>;
  done_at: Date | null;
  error: string | null;
}

export interface SlackOutboxTable {
  id: Generated<number>;
  thread_id: number | null;
  channel_id: string;
  kind: string;
  payload: Json;
  dedupe_key: string | null;
  state: Generated<string>;
  attempts: Generated<number>;
  next_attempt_at: Generated<Date>;
  lease_until: Date | null;
  last_error: string | null;
  created_at: Generated<Date>;
  sent_at: Date | null;
  result: ColumnType<Record<string, unknown> | null, string | null | undefined, string | null>;
}

export interface SlackChannelDefaultsTable {
  team_id: string;
  channel_id: string;
  options: Json;
  updated_by: string;
  updated_at: Generated<Date>;
}

export interface SlackUserMapTable {
  user_id: string;
  key_name: string;
  created_by: string;
  created_at: Generated<Date>;
}

export interface DB {
  sessions: SessionsTable;
  session_messages: SessionMessagesTable;
  command_logs: CommandLogsTable;
  slack_threads: SlackThreadsTable;
  slack_inbox: SlackInboxTable;
  slack_outbox: SlackOutboxTable;
  slack_channel_defaults: SlackChannelDefaultsTable;
  slack_user_map: SlackUserMapTable;
  session_events: SessionEventsTable;
  turns: TurnsTable;
  idempotency_keys: IdempotencyKeysTable;
  api_keys: ApiKeysTable;
  auth_tokens: AuthTokensTable;
  audit_log: AuditLogTable;
  live_events: LiveEventsTable;
  webhooks: WebhooksTable;
  webhook_cursors: WebhookCursorsTable;
  webhook_status_changes: WebhookStatusChangesTable;
  webhook_deliveries: WebhookDeliveriesTable;
  approvals: ApprovalsTable;
}

export interface WebhooksTable {
  id: string;
  url: string;
  events: string[];
  description: string | null;
  secret: string;
  owner: string;
  role: string;
  key_id: string | null;
  created_by: string;
  created_at: Generated<Date>;
}

export interface WebhookCursorsTable {
  session_id: string;
  created_done: Generated<boolean>;
  completed_done: Generated<boolean>;
  started_turn_id: Generated<number>;
  finished_turn_id: Generated<number>;
  status_change_id: Generated<number>;
  seen_updated_at: Date | null;
}

export interface WebhookStatusChangesTable {
  id: Generated<number>;
  session_id: string;
  from_status: string;
  to_status: string;
  at: Generated<Date>;
}

export interface WebhookDeliveriesTable {
  id: Generated<number>;
  webhook_id: string;
  session_id: string;
  event_key: string;
  event_type: string;
  event_at: Timestamp;
  data: Json;
  state: Generated<string>;
  attempts: Generated<number>;
  next_attempt_at: Generated<Date>;
  lease_until: Date | null;
  retry_from: Generated<Date>;
  last_status: number | null;
  last_error: string | null;
  last_response: string | null;
  last_attempt_at: Date | null;
  created_at: Generated<Date>;
  delivered_at: Date | null;
}

/** UNLOGGED; read and written through src/db/queries/live-events.ts (xid8 and seq travel as text). */
export interface LiveEventsTable {
  xid: Generated<string>;
  seq: Generated<string>;
  session_id: string;
  type: string;
  json: string;
  at: Generated<Date>;
}

/** Append-only (a trigger refuses UPDATE, DELETE and TRUNCATE). */
export interface AuditLogTable {
  id: Generated<number>;
  at: Timestamp;
  actor: string;
  actor_role: string;
  actor_key_id: string | null;
  action: string;
  target: string | null;
  address: string | null;
  request_id: string | null;
  detail: Json;
}

export interface TurnsTable {
  id: Generated<number>;
  session_id: string;
  message_id: number | null;
  prompt: string;
  source: Generated<string>;
  status: Generated<string>;
  created_at: Generated<Date>;
  started_at: Date | null;
  ended_at: Date | null;
  init_at: Date | null;
  launched_at: Date | null;
  /** The Claude Code session the turn ran in (per-turn cost is computed within it). */
  claude_session_id: string | null;
  pid: number | null;
  cost_usd: number | null;
  /** While the turn runs: its cost so far, estimated (migration 0019; budgets count it until cost_usd is written). */
  cost_estimate_usd: Generated<number | null>;
  input_tokens: number | null;
  output_tokens: number | null;
  num_turns: number | null;
  duration_ms: number | null;
  is_error: boolean | null;
  subtype: string | null;
  terminal_reason: string | null;
  error: string | null;
  /** Close the session when this turn ends (POST ... close_after). */
  close_after: Generated<boolean>;
  // --- review (0015) ---
  /** What the turn changed in its workspace (src/workspaces/turn-changes.ts); null when unknown. */
  changes: ColumnType<Record<string, unknown> | null, string | null | undefined, string | null>;
  /** The approval policy in force for this turn (migration 0014). */
  policy: ColumnType<Record<string, unknown> | null, string | null | undefined, string | null>;
}

/** Approval requests (src/approvals, migration 0014). */
export interface ApprovalsTable {
  id: string;
  session_id: string;
  turn_id: number | null;
  tool_use_id: string | null;
  tool_name: string;
  tool_input: JsonAny;
  call_hash: string;
  rule: ColumnType<Record<string, unknown> | null, string | null, string | null>;
  status: Generated<string>;
  parked: Generated<boolean>;
  requested_at: Timestamp;
  expires_at: Timestamp;
  timeout_action: Generated<string>;
  approvers: ColumnType<string[], string | undefined, string>;
  decided_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
  decided_by: string | null;
  decided_via: string | null;
  reason: string | null;
  scope: string | null;
  consumed_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
  continued_turn_id: number | null;
}

/** Requests sent with an Idempotency-Key (src/http/idempotency.ts). */
export interface IdempotencyKeysTable {
  id: Generated<number>;
  scope: string;
  key: string;
  method: string;
  path: string;
  request_hash: string;
  claim: string;
  session_id: string | null;
  turn_id: number | null;
  message_id: number | null;
  response_status: number | null;
  response_body: JsonAny | null;
  created_at: Generated<Date>;
  completed_at: Date | null;
}

export interface ApiKeysTable {
  id: string;
  name: string;
  role: string;
  owner: string;
  prefix: string;
  key_hash: string;
  created_at: Generated<Date>;
  created_by: string | null;
  expires_at: Date | null;
  revoked_at: Date | null;
  last_used_at: Date | null;
}

export interface AuthTokensTable {
  token_hash: string;
  kind: string;
  key_id: string;
  created_at: Generated<Date>;
  expires_at: Date;
  used_at: Date | null;
}

// --- Schedules and budgets (migration 0017). Declaration merging keeps this block apart from the tables above.

export interface SessionsTable {
  /** numeric: read back as a string by node-postgres. */
  budget_usd: ColumnType<string | number | null, number | null | undefined, number | null>;
  budget_reached_at: ColumnType<Date | null, Date | null | undefined, Date | null>;
  schedule_id: ColumnType<string | null, string | null | undefined, string | null>;
}

export interface SchedulesTable {
  id: string;
  name: string;
  owner: string;
  cron: string;
  timezone: string;
  template: Json;
  missed: string;
  status: string;
  next_run_at: Date | null;
  last_run_at: Date | null;
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
}

export interface ScheduleRunsTable {
  id: Generated<number>;
  schedule_id: string;
  scheduled_for: Date;
  session_id: string;
  state: Generated<string>;
  error: string | null;
  catch_up: Generated<boolean>;
  created_at: Generated<Date>;
}

export interface DB {
  schedules: SchedulesTable;
  schedule_runs: ScheduleRunsTable;
}
