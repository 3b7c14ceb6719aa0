/**
 * Stores one hook event from Claude Code (POST /api/hooks/:event). The session is
 * found by Claude Code's session_id and created for runs started outside the
 * orchestrator. Redeliveries are absorbed by the database's unique keys: tool
 * events on (session, tool_use_id) in command_logs, the others on
 * (session, event, the sender's event id) in session_events; an event sent
 * without an id is always stored. Every change is published.
 */
import { randomUUID } from 'node:crypto';
import type { Principal } from '../auth/principal.ts';
import type { ClaudeSessionSeed } from '../db/queries/command-logs.ts';
import type { Database } from '../db/database.ts';
import { findSession, type Executor, type SessionRow } from '../db/queries/sessions.ts';
import { insertMessage, type MessageRow } from '../db/queries/messages.ts';
import { completeSession, findSessionEvent, insertSessionEvent, listSessionEvents, upsertClaudeSession, type SessionEventRow } from '../db/queries/session-events.ts';
import type { EventBus } from '../events/bus.ts';
import { decodeCursor, encodeCursor, isIdCursor } from '../lib/cursor.ts';
import { badRequest, foreignClaudeSession, notFound } from '../lib/errors.ts';
import { BAD_TEXT_MESSAGE } from '../lib/text.ts';
import { toMessage, toSession, toSessionEvent } from '../sessions/mappers.ts';
import type { NewLogInput, SessionService } from '../sessions/service.ts';
import type { Page, SessionEvent } from '../sessions/types.ts';
import { storeHookBatch, type BatchEventInput, type BatchEventResult } from './ingest-batch.ts';
import { isToolEvent, planEvent, type EventPlan, type HookEventName, type HookPayload } from './events.ts';
import { toolHookToLog, toolPayloadSchema, type ToolHookPayload } from './tool-event.ts';

export interface IngestResult {
  session_id: string;
  event: HookEventName;
  /** false when the event was already stored (a redelivery) or ignored. */
  stored: boolean;
  duplicate: boolean;
  /** Why nothing was stored, for events the server deliberately skips. */
  ignored?: 'managed_by_runner' | undefined;
  log_id?: number | undefined;
  event_id?: number | undefined;
  message_id?: number | undefined;
  session_completed?: boolean | undefined;
}

/** Prompt and Stop events of runs the runner started: the runner records those itself. */
export const RUNNER_RECORDED: readonly HookEventName[] = ['UserPromptSubmit', 'Stop'];

/** The runner's sessions (managed; or metadata.managed_by = runner, the original contract). */
export const isRunnerSession = (row: SessionRow) => Boolean(row.managed) || row.metadata?.managed_by === 'runner';

/** Which owner's sessions a key's hook events may write to: its own, or any for an admin key. */
export const writeScope = (actor: Principal): string | null => (actor.role === 'admin' ? null : actor.owner);
/** May a writer with this scope (writeScope) write to a session with this owner? */
export const inScope = (scope: string | null, owner: string | null) => scope === null || owner === scope;

/** The session a hook event creates when its Claude session is new (a run started outside the orchestrator). */
export function claudeSeed(p: HookPayload, owner: string | null, scope: string | null = owner): ClaudeSessionSeed {
  return {
    owner,
    scope,
    id: randomUUID(),
    claudeSessionId: p.session_id,
    projectPath: (typeof p.cwd === 'string' && p.cwd ? p.cwd : 'unknown').slice(0, 500),
    metadata: { started_outside_orchestrator: true, ...(typeof p.transcript_path === 'string' ? { transcript_path: p.transcript_path } : {}) },
  };
}

/** Checks a tool event's fields and turns it into a command log (a 400 when it does not fit). */
export function prepareToolLog(event: HookEventName, p: HookPayload, resultMaxBytes: number): NewLogInput {
  if (p.hook_event_name !== undefined && p.hook_event_name !== event) {
    throw badRequest('event_mismatch', `body.hook_event_name is ${String(p.hook_event_name).slice(0, 60)} but the URL says ${event}`);
  }
  const checked = toolPayloadSchema.safeParse(p);
  if (!checked.success) {
    const issue = checked.error.issues[0];
    const code = issue?.message === BAD_TEXT_MESSAGE ? 'invalid_text' : 'invalid_request';
    throw badRequest(code, `body.${issue?.path.join('.') ?? ''}: ${issue?.message ?? 'invalid'} (${event})`);
  }
  return toolHookToLog({ ...(checked.data as ToolHookPayload), hook_event_name: event }, resultMaxBytes);
}

export class HookIngest {
  constructor(
    private readonly database: Database,
    private readonly events: EventBus,
    private readonly sessions: SessionService,
    private readonly opts: { resultMaxBytes: number },
  ) {}

  /** `eventId`: the sender's id for this event (see parseEventId); a second event with the same id is a redelivery. */
  async ingest(actor: Principal, event: HookEventName, p: HookPayload, eventId?: string): Promise<IngestResult> {
    return isToolEvent(event) ? this.ingestTool(actor, event, p) : this.ingestEvent(actor, event, p, eventId ?? null);
  }

  private async ingestTool(actor: Principal, event: HookEventName, p: HookPayload): Promise<IngestResult> {
    const log = prepareToolLog(event, p, this.opts.resultMaxBytes);
    const seed = claudeSeed(p, actor.owner, writeScope(actor));
    const r = await this.sessions.addLogByClaudeSession({ claudeSessionId: p.session_id, projectPath: seed.projectPath, metadata: seed.metadata, owner: seed.owner, scope: seed.scope }, log);
    return { session_id: r.sessionId, event, stored: r.log !== undefined, duplicate: r.log === undefined, log_id: r.log?.id };
  }

  private async ingestEvent(actor: Principal, event: HookEventName, p: HookPayload, eventId: string | null): Promise<IngestResult> {
    const plan = planEvent(event, p);
    const r = await this.database.db.transaction().execute(async (tx) => {
      const s = await upsertClaudeSession(tx, claudeSeed(p, actor.owner, writeScope(actor)));
      // Another owner's Claude session: the transaction rolls back, nothing is written.
      if (!inScope(writeScope(actor), s.row.owner)) throw foreignClaudeSession();
      if (isRunnerSession(s.row) && RUNNER_RECORDED.includes(event)) return { s, ignored: true as const };
      return { s, ...(await storeEventRows(tx, s.row, event, eventId, plan)) };
    });
    // Published after commit, in the order the rows were written.
    if (r.s.created) this.events.publish({ type: 'session.created', session: toSession(r.s.row) });
    if ('ignored' in r) return { session_id: r.s.row.id, event, stored: false, duplicate: false, ignored: 'managed_by_runner' };
    if (!r.ev) return { session_id: r.s.row.id, event, stored: false, duplicate: true };
    const sessionEvent = toSessionEvent(r.ev);
    this.events.publish({ type: 'session_event.created', event: sessionEvent });
    const message = r.msg ? toMessage(r.msg) : undefined;
    if (message) this.events.publish({ type: 'message.created', message });
    // Closed, or named by its first prompt.
    if (r.completed) this.events.publish({ type: 'session.updated', session: toSession(r.completed) });
    return {
      session_id: r.s.row.id,
      event,
      stored: true,
      duplicate: false,
      event_id: sessionEvent.id,
      message_id: message?.id,
      session_completed: r.completed ? true : undefined,
    };
  }

  async getEvent(sessionId: string, id: number): Promise<SessionEvent> {
    const row = await findSessionEvent(this.database.db, sessionId, id);
    if (!row) throw notFound('session event', `${id} of session ${sessionId}`);
    return toSessionEvent(row);
  }

  /** Stores a batch of events as if each were sent alone, in order (see ingest-batch.ts). */
  async ingestBatch(actor: Principal, items: readonly BatchEventInput[]): Promise<BatchEventResult[]> {
    return storeHookBatch({ database: this.database, events: this.events, resultMaxBytes: this.opts.resultMaxBytes, owner: actor.owner, scope: writeScope(actor) }, items);
  }

  async listEvents(sessionId: string, q: { limit: number; cursor?: string | undefined; event?: string | undefined }): Promise<Page<SessionEvent>> {
    await this.sessions.get(sessionId);
    const afterId = q.cursor ? decodeCursor(q.cursor, isIdCursor) : undefined;
    const rows = await listSessionEvents(this.database.db, sessionId, { limit: q.limit + 1, afterId, event: q.event });
    const data = rows.slice(0, q.limit).map(toSessionEvent);
    const last = data[data.length - 1];
    return { data, next_cursor: rows.length > q.limit && last ? encodeCursor(last.id) : null };
  }
}

/**
 * One non-tool event's rows, for a session already upserted and locked: the event (nothing more
 * when its id is stored already), its message, and the session closed or named by it. What the
 * single-event route writes, and a hook batch holding a SessionEnd event by event.
 */
export async function storeEventRows(
  db: Executor,
  row: SessionRow,
  event: HookEventName,
  eventId: string | null,
  plan: EventPlan,
): Promise<{ ev?: SessionEventRow | undefined; msg?: MessageRow | undefined; completed?: SessionRow | undefined }> {
  const managed = isRunnerSession(row);
  const ev = await insertSessionEvent(db, { session_id: row.id, event, event_key: eventId, data: plan.data });
  if (!ev) return {};
  const m = plan.message;
  const msg = m && !managed ? await insertMessage(db, { session_id: row.id, direction: m.direction, content: m.content, source: 'cli', metadata: m.metadata }) : undefined;
  // The runner owns the status of its sessions; a hand-run session ends with its process.
  const completed = plan.completesSession && !managed ? await completeSession(db, row.id) : undefined;
  // A first prompt names the session (insertMessage): lists show the title at once.
  const titled = !completed && msg?.session_titled ? await findSession(db, row.id) : undefined;
  return { ev, msg, completed: completed ?? titled };
}
