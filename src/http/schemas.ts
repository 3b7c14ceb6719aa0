/** zod schemas shared by request validation, response serialization and the OpenAPI document. */
import { z } from 'zod';
import { policySchema } from '../approvals/policy.ts';
import { identifierText } from '../lib/text.ts';
import { TITLE_MAX_CHARS } from '../lib/title.ts';
import { CLEANUP_POLICIES } from '../workspaces/port.ts';
import { PERMISSION_MODES } from '../runner/options.ts';
import { DIRECTIONS, LOG_STATUSES, PROJECT_TYPES, SESSION_STATUSES, SOURCES, TURN_STATES, TURN_STATUSES } from '../sessions/types.ts';

export const uuidParam = z
  .string()
  .regex(/^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/, 'must be a UUID');

export const idParams = z.object({ id: uuidParam });
/** A session and one of its items (message, log, hook event) by numeric id. */
export const itemParams = z.object({ id: uuidParam, item_id: z.coerce.number().int().min(1).max(Number.MAX_SAFE_INTEGER) });

export const metadataSchema = z.record(z.string(), z.unknown());

export const errorSchema = z.object({
  error: z.object({
    code: z.string(),
    message: z.string(),
    request_id: z.string().optional().describe('Server errors (5xx): the id of the log line with the cause.'),
    details: z.record(z.string(), z.unknown()).optional().describe('Facts to act on, e.g. who decided an approval and when (409 already_decided).'),
  }),
});

export const sessionSchema = z.object({
  id: z.string(),
  claude_session_id: z.string().nullable(),
  project_path: z.string(),
  project_type: z.enum(PROJECT_TYPES),
  status: z.enum(SESSION_STATUSES),
  source: z.string(),
  owner: z.string().nullable(),
  created_at: z.string(),
  updated_at: z.string(),
  metadata: metadataSchema,
  managed: z.boolean(),
  turn_state: z.enum(TURN_STATES),
  queue_position: z.number().nullable(),
  totals: z.object({
    cost_usd: z.number(),
    input_tokens: z.number(),
    output_tokens: z.number(),
    num_turns: z.number(),
    turns: z.number(),
  }),
  run_options: metadataSchema,
  title: z.string().nullable().describe("What the session is about: its first prompt's first line (up to 120 characters), or set with PATCH; null before any prompt."),
  budget_usd: z.number().nullable().describe('The most this session may spend (USD); null: no limit of its own. Spent so far: totals.cost_usd.'),
  budget_reached_at: z.string().nullable().describe('Set when a budget stopped the session (it is then paused; raise budget_usd to continue).'),
  schedule_id: z.string().nullable().describe('The schedule whose run made this session.'),
  policy: z.object({ policy: policySchema, mode: z.enum(['replace', 'narrow']) }).nullable().describe('The approval policy the session was given, and whether it replaces the server\'s or narrows it.'),
  pending_approvals: z.number().optional().describe('Tool calls of this session waiting for a decision (GET /api/approvals).'),
});

/** A title a client sets: trimmed, 1-200 characters (TITLE_MAX_CHARS). */
const titleField = z.string().trim().min(1, 'must not be blank').max(TITLE_MAX_CHARS).describe(`Shown instead of the folder path; 1-${TITLE_MAX_CHARS} characters after trimming.`);

export const messageSchema = z.object({
  id: z.number(),
  session_id: z.string(),
  direction: z.enum(DIRECTIONS),
  content: z.string(),
  source: z.enum(SOURCES),
  timestamp: z.string(),
  metadata: metadataSchema,
});

export const commandLogSchema = z.object({
  id: z.number(),
  session_id: z.string(),
  tool_use_id: z.string().nullable(),
  tool: z.string(),
  input: z.unknown(),
  result: z.string().nullable(),
  result_truncated: z.boolean(),
  result_size: z.number().nullable(),
  status: z.enum(LOG_STATUSES),
  duration_ms: z.number().nullable(),
  timestamp: z.string(),
  metadata: metadataSchema,
});

export const pageOf = <T extends z.ZodTypeAny>(item: T) => z.object({ data: z.array(item), next_cursor: z.string().nullable() });

export const limitQuery = z.coerce.number().int().min(1).max(200).default(50).describe('Page size, 1-200 (default 50).');
export const cursorQuery = z.string().max(500).optional().describe('next_cursor from the previous page.');

/** Run and wait (src/http/run-wait.ts); the upper bound is WAIT_MAX_S, checked by the route. */
const waitField = z
  .number()
  .int()
  .min(0)
  .optional()
  .describe('Seconds to wait for the turn to end, up to WAIT_MAX_S (default 600): 201 with `turn` holding its outcome and answer, or 202 when the time runs out (wait again at `turn.wait_url`). 0 or absent: answer at once.');
const closeAfterField = z.boolean().optional().describe('Close the session (status completed, workspace cleanup as on PATCH) when this turn ends, however it ends; the server does it even when no client waits.');

/** Budgets (src/budgets): the most a session may spend, in USD. */
export const budgetField = z.number().positive().max(1_000_000).describe('The most this session may spend (USD): a turn that passes it is stopped and the session paused until the budget is raised.');

const toolList = z.array(z.string().min(1).max(200)).max(100);

export const createSessionBody = z.strictObject({
  project_path: identifierText().min(1).max(500).optional().describe('Workspace folder. With a prompt and no path, a new folder under WORKSPACES_DIR is made.'),
  project_type: z.enum(PROJECT_TYPES).default('local'),
  claude_session_id: identifierText().min(1).max(255).optional(),
  source: z.enum(SOURCES).default('api'),
  metadata: metadataSchema.default({}),
  title: titleField.optional().describe("Default: the prompt's first line (up to 120 characters)."),
  prompt: z.string().min(1).max(1_000_000).optional().describe('Start Claude Code on this prompt; the session is then run by the orchestrator.'),
  permission_mode: z.enum(PERMISSION_MODES).optional().describe('Default: DEFAULT_PERMISSION_MODE (acceptEdits).'),
  allowed_tools: toolList.optional().describe('Permission rules allowed without asking, e.g. ["Bash(git *)", "Edit"].'),
  disallowed_tools: toolList.optional(),
  model: z.string().min(1).max(200).optional(),
  append_system_prompt: z.string().min(1).max(100_000).optional(),
  max_turns: z.number().int().min(1).max(10_000).optional().describe('Model round trips allowed per turn.'),
  timeout_s: z.number().int().min(1).max(7 * 24 * 3600).optional().describe('Time limit of each turn; default TURN_TIMEOUT_S.'),
  repo_url: identifierText().min(1).max(2048).optional().describe('github and e2b: the git URL to clone (https, ssh, git@host:path, file:// inside ALLOWED_ROOTS).'),
  ref: identifierText().min(1).max(255).optional().describe('A branch, tag or full commit id to start from.'),
  base_repo: identifierText().min(1).max(2048).optional().describe('worktree: a local repository inside ALLOWED_ROOTS, or a git URL (cached clone).'),
  trust_project_settings: z.boolean().optional().describe("github and URL worktree sessions: load the repository's own .claude settings (its hooks run on the server's host). Needs ALLOW_PROJECT_SETTINGS; default false."),
  cleanup: z.enum(CLEANUP_POLICIES).optional().describe('What happens to the workspace when the session completes: keep, delete or archive. Default WORKSPACE_CLEANUP.'),
  policy: policySchema.optional().describe("Approval policy for this session's tool calls (README \"Approvals\"): an admin's replaces the server's APPROVAL_POLICY, anyone else's can only make it stricter."),
  wait: waitField,
  close_after: closeAfterField,
  budget_usd: budgetField.optional(),
});

export const turnInfoSchema = z.object({ id: z.number(), state: z.enum(['queued', 'running']), queue_position: z.number().nullable() });

/** A turn as a wait answers it (POST ... wait, GET /api/sessions/:id/turns/:turn). */
export const turnResultSchema = z.object({
  id: z.number(),
  session_id: z.string(),
  status: z.enum(TURN_STATUSES),
  answer: z.string().nullable().describe("The turn's last assistant message, once it ended."),
  cost_usd: z.number().nullable(),
  duration_ms: z.number().nullable(),
  input_tokens: z.number().nullable(),
  output_tokens: z.number().nullable(),
  num_turns: z.number().nullable(),
  error: z.string().nullable(),
  subtype: z.string().nullable().describe("Claude Code's result subtype, e.g. success or error_max_turns."),
  created_at: z.string(),
  started_at: z.string().nullable(),
  ended_at: z.string().nullable(),
  close_after: z.boolean(),
  wait_url: z.string().nullable().describe('While the turn has not ended: GET this to wait for it (up to WAIT_MAX_S).'),
});

/** `turn` of a 201/202 from the POST routes: where it is queued (no wait), or its result (wait). */
export const startedTurnSchema = z.union([turnInfoSchema, turnResultSchema]);

export const turnParams = z.object({ id: uuidParam, turn: z.coerce.number().int().min(1).max(Number.MAX_SAFE_INTEGER) });

export const turnSchema = z.object({
  id: z.number(),
  session_id: z.string(),
  message_id: z.number().nullable(),
  prompt: z.string(),
  source: z.string(),
  status: z.enum(TURN_STATUSES),
  created_at: z.string(),
  started_at: z.string().nullable(),
  ended_at: z.string().nullable(),
  cost_usd: z.number().nullable(),
  input_tokens: z.number().nullable(),
  output_tokens: z.number().nullable(),
  num_turns: z.number().nullable(),
  duration_ms: z.number().nullable(),
  is_error: z.boolean().nullable(),
  subtype: z.string().nullable(),
  terminal_reason: z.string().nullable().describe('awaiting_approval: the turn stopped on a call that waits for a person.'),
  error: z.string().nullable(),
  policy: z.object({ server: policySchema, session: z.object({ policy: policySchema, mode: z.enum(['replace', 'narrow']) }).optional() }).nullable().describe('The approval policies in force when the turn ran.'),
  tools: z.array(z.object({ name: z.string(), count: z.number() })).describe('Tools the turn used (its tool log between start and end), most used first.'),
  changes: z
    .object({
      files_changed: z.number(),
      lines_added: z.number(),
      lines_removed: z.number(),
      files: z.array(z.object({ path: z.string(), added: z.number().nullable(), removed: z.number().nullable() })).describe('Up to 200; null counts: a binary file.'),
    })
    .nullable()
    .describe('What the turn alone changed in its workspace (its diff: GET .../turns/:turn/diff); null when unknown (no git workspace, scan failed, not ended).'),
});

export const updateSessionBody = z
  .strictObject({
    status: z.enum(SESSION_STATUSES).optional(),
    claude_session_id: identifierText().min(1).max(255).nullable().optional(),
    metadata: metadataSchema.optional().describe('Merged into the stored metadata: top-level keys replace.'),
    title: titleField.optional(),
    budget_usd: budgetField.nullable().optional().describe('Raise (or set, or remove with null) the budget; a session paused by its budget continues when it is raised above what it spent.'),
  })
  .refine((b) => Object.keys(b).length > 0, { message: 'give at least one of status, claude_session_id, metadata, title, budget_usd' });

export const createMessageBody = z.strictObject({
  direction: z.enum(DIRECTIONS),
  content: z.string().min(1).max(1_000_000),
  source: z.enum(SOURCES).default('api'),
  metadata: metadataSchema.default({}),
  run: z.boolean().optional().describe('For a user message: run a turn with it. Default: true when the orchestrator runs the session.'),
  wait: waitField,
  close_after: closeAfterField,
});

/** Claude Code's PostToolUse / PostToolUseFailure payload; unknown extra fields are accepted and ignored. */
export const toolHookBody = z.looseObject({
  session_id: identifierText().min(1).max(255),
  hook_event_name: z.enum(['PostToolUse', 'PostToolUseFailure']).optional(),
  cwd: z.string().max(4096).optional(),
  transcript_path: z.string().max(4096).optional(),
  tool_name: z.string().min(1).max(100),
  tool_use_id: identifierText().min(1).max(255).optional(),
  tool_input: z.unknown().optional(),
  tool_response: z.unknown().optional(),
  error: z.string().optional(),
  is_interrupt: z.boolean().optional(),
  duration_ms: z.number().int().min(0).max(2_147_483_647).optional(),
  agent_id: z.string().max(255).optional(),
  agent_type: z.string().max(255).optional(),
});

/** Any hook event Claude Code sends; event-specific fields are checked by the domain (src/hooks/events.ts). */
export const hookEventBody = z.looseObject({
  session_id: identifierText().min(1).max(255),
  hook_event_name: z.string().max(100).optional(),
  cwd: z.string().max(4096).optional(),
  transcript_path: z.string().max(4096).optional(),
});

/** Most events one POST /api/hooks/batch may carry (the body limit applies as well). */
export const HOOK_BATCH_MAX = 500;

/**
 * POST /api/hooks/batch. Each payload is checked on its own against hookEventBody (the
 * single-event route's body schema) by the route, so one bad event is refused alone.
 */
export const hookBatchBody = z.object({
  events: z
    .array(
      z.object({
        event: z.string().max(100).describe('The hook event name, as in POST /api/hooks/{event} (PostToolUse or post-tool-use, ...).'),
        id: z.string().max(200).optional().describe("The sender's event id (the forwarder's spool file name): a second event with the same id is a redelivery."),
        payload: z.unknown().describe('The JSON Claude Code gives the hook: the body POST /api/hooks/{event} takes, checked by the same schema.'),
      }),
    )
    .min(1)
    .max(HOOK_BATCH_MAX),
});

export const hookBatchResultSchema = z.object({
  id: z.string().nullable(),
  status: z.enum(['stored', 'duplicate', 'ignored', 'refused']),
  session_id: z.string().optional(),
  code: z.string().optional(),
  http_status: z.number().optional(),
  message: z.string().optional(),
});

export const sessionEventSchema = z.object({
  id: z.number(),
  session_id: z.string(),
  event: z.string(),
  data: metadataSchema,
  timestamp: z.string(),
});

/** A search result's match (GET /api/sessions?q=). */
export const searchHitSchema = z.object({
  rank: z.number(),
  hits: z.number(),
  snippet: z
    .object({
      kind: z.enum(['message', 'log']),
      item_id: z.number(),
      text: z.string().describe('Plain text, never HTML.'),
      highlights: z.array(z.tuple([z.number(), z.number()])).describe('[start, end) offsets (UTF-16 code units) of matched words in text.'),
    })
    .nullable(),
});
