/**
 * The hook events the orchestrator stores, and how each payload maps to what is
 * stored. Payload shapes: shared/reference/claude-code.md §1.3. Pure functions but for the
 * process's redaction rules (src/db/text.ts), applied before anything is cut.
 *
 * - PostToolUse, PostToolUseFailure -> a command log (deduplicated on tool_use_id)
 * - UserPromptSubmit -> a user message (source cli) plus a session event
 * - Stop -> an assistant message (last_assistant_message) plus a session event
 * - SessionStart, SessionEnd, Notification, PreCompact, SubagentStop -> a session event;
 *   SessionEnd also marks the session completed
 * Non-tool events are deduplicated on the sender's event id only (see parseEventId):
 * two identical payloads are two events unless they carry the same id.
 */
import { z } from 'zod';
import { redactForStorage } from '../db/text.ts';
import { truncateUtf8 } from '../lib/truncate.ts';
import { badRequest } from '../lib/errors.ts';

export const HOOK_EVENTS = [
  'PostToolUse',
  'PostToolUseFailure',
  'UserPromptSubmit',
  'Stop',
  'SubagentStop',
  'Notification',
  'SessionStart',
  'SessionEnd',
  'PreCompact',
] as const;
export type HookEventName = (typeof HOOK_EVENTS)[number];

export const TOOL_EVENTS: readonly HookEventName[] = ['PostToolUse', 'PostToolUseFailure'];
export const isToolEvent = (e: HookEventName) => TOOL_EVENTS.includes(e);

const kebab = (name: string) => name.replace(/([a-z])([A-Z])/g, '$1-$2').toLowerCase();
const BY_PATH = new Map<string, HookEventName>(HOOK_EVENTS.flatMap((e) => [[e, e], [kebab(e), e]] as const));

/** `PostToolUse` or `post-tool-use` -> `PostToolUse`; anything else is a 400. */
export function parseEventName(raw: string): HookEventName {
  const e = BY_PATH.get(raw);
  if (!e) {
    throw badRequest('unknown_event', `unknown hook event "${raw.slice(0, 60)}"; expected one of ${HOOK_EVENTS.join(', ')} (or kebab-case)`);
  }
  return e;
}

/** Fields every hook payload carries (others are kept as they are). */
export interface HookPayload {
  session_id: string;
  hook_event_name?: string | undefined;
  cwd?: string | undefined;
  transcript_path?: string | undefined;
  [field: string]: unknown;
}

/** What a non-tool event turns into. */
export interface EventPlan {
  event: HookEventName;
  data: Record<string, unknown>;
  message?: { direction: 'user' | 'assistant'; content: string; metadata: Record<string, unknown> } | undefined;
  completesSession: boolean;
}

const optString = z.string().optional();
const PER_EVENT: Partial<Record<HookEventName, z.ZodType>> = {
  UserPromptSubmit: z.looseObject({ prompt: z.string() }),
  Stop: z.looseObject({ last_assistant_message: optString }),
  SubagentStop: z.looseObject({ agent_id: optString, agent_type: optString, last_assistant_message: optString }),
  Notification: z.looseObject({ message: optString, title: optString, notification_type: optString }),
  SessionStart: z.looseObject({ source: optString }),
  SessionEnd: z.looseObject({ reason: optString }),
  PreCompact: z.looseObject({ trigger: optString, custom_instructions: z.string().nullable().optional() }),
};

/** Longest string kept inside a session event's data; longer ones are cut (the size is kept). */
const DATA_STRING_MAX = 8 * 1024;
/** Longest message content stored from a hook. */
const MESSAGE_MAX = 1_000_000;

/** Checks the event-specific fields and plans the writes for a non-tool event. */
export function planEvent(event: HookEventName, p: HookPayload): EventPlan {
  if (p.hook_event_name !== undefined && p.hook_event_name !== event) {
    throw badRequest('event_mismatch', `body.hook_event_name is ${String(p.hook_event_name).slice(0, 60)} but the URL says ${event}`);
  }
  const schema = PER_EVENT[event];
  const checked = schema?.safeParse(p);
  if (checked && !checked.success) {
    const issue = checked.error.issues[0];
    throw badRequest('invalid_request', `body.${issue?.path.join('.') ?? ''}: ${issue?.message ?? 'invalid'} (${event})`);
  }
  const { session_id: _s, hook_event_name: _h, ...rest } = p;
  let message: EventPlan['message'];
  const meta = { hook_event: event, ...(typeof p.prompt_id === 'string' ? { prompt_id: p.prompt_id } : {}) };
  if (event === 'UserPromptSubmit' && typeof p.prompt === 'string' && p.prompt !== '') {
    message = { direction: 'user', ...cut(p.prompt, meta) };
    delete rest.prompt;
  }
  if (event === 'Stop' && typeof p.last_assistant_message === 'string' && p.last_assistant_message !== '') {
    message = { direction: 'assistant', ...cut(p.last_assistant_message, meta) };
    delete rest.last_assistant_message;
  }
  // Compaction runs internal agents that fire SubagentStop with agent_type "" (reference §0.4).
  if (event === 'SubagentStop' && p.agent_type === '') rest.internal = true;
  return { event, data: limitStrings(rest), message, completesSession: event === 'SessionEnd' };
}

// Both cutters redact first: a secret split by the cut would no longer match any rule.
function cut(text: string, metadata: Record<string, unknown>) {
  const c = truncateUtf8(redactForStorage(text), MESSAGE_MAX);
  return { content: c.text, metadata: c.truncated ? { ...metadata, truncated: true, size: c.size } : metadata };
}

function limitStrings(data: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const cutFields: string[] = [];
  for (const [k, raw] of Object.entries(data)) {
    const v = redactForStorage(raw);
    if (typeof v === 'string' && Buffer.byteLength(v) > DATA_STRING_MAX) {
      out[k] = truncateUtf8(v, DATA_STRING_MAX).text;
      cutFields.push(k);
    } else if (v !== null && typeof v === 'object' && Buffer.byteLength(JSON.stringify(v)) > DATA_STRING_MAX) {
      out[k] = { _truncated: true, preview: truncateUtf8(JSON.stringify(v), DATA_STRING_MAX).text };
      cutFields.push(k);
    } else {
      out[k] = v;
    }
  }
  if (cutFields.length) out._truncated_fields = cutFields;
  return out;
}

/** Longest event id accepted (the forwarder's are about 60 characters). */
const EVENT_ID_MAX = 200;

/**
 * The sender's id for this event: the forwarder's `x-cco-event-id` (its spool file
 * name), else an `Idempotency-Key`; undefined when neither is sent (never deduplicated).
 */
export function parseEventId(headers: Record<string, string | string[] | undefined>): string | undefined {
  const raw = headers['x-cco-event-id'] ?? headers['idempotency-key'];
  if (raw === undefined) return undefined;
  return checkEventId(Array.isArray(raw) ? raw[0] : raw, 'x-cco-event-id / idempotency-key');
}

/** An event id as sent (a header, or a batch entry's id): 1-200 visible ASCII characters, else a 400. */
export function checkEventId(id: string | undefined, what = 'id'): string {
  if (id === undefined || !/^[\x21-\x7e]+$/.test(id) || id.length > EVENT_ID_MAX) {
    throw badRequest('invalid_event_id', `${what} must be 1-${EVENT_ID_MAX} visible ASCII characters`);
  }
  return id;
}
