/**
 * Stores a batch of hook events (POST /api/hooks/batch) with the meaning of
 * sending each alone, in order, but in a few statements: the batch's tool events
 * in one multi-row statement (upsertSessionsAndInsertLogs), its other events in
 * one transaction that also upserts every Claude session of the batch once. An
 * event that does not fit (unknown name, invalid payload or id) is refused on its
 * own; the others are stored. Nothing is answered before the commit; the event
 * bus hears about each stored row after it, in batch order.
 */
import type { Database } from '../db/database.ts';
import { insertBatchEvents } from '../db/queries/batch-events.ts';
import { upsertSessionsAndInsertLogs, type ClaudeLogOutcome, type ClaudeSessionSeed, type NewCommandLogRow } from '../db/queries/command-logs.ts';
import type { MessageRow } from '../db/queries/messages.ts';
import { upsertClaudeSessions, type SessionEventRow } from '../db/queries/session-events.ts';
import type { Executor, SessionRow } from '../db/queries/sessions.ts';
import type { EventBus } from '../events/bus.ts';
import { AppError, foreignClaudeSession } from '../lib/errors.ts';
import { toCommandLog, toMessage, toSession, toSessionEvent } from '../sessions/mappers.ts';
import { toLogRow } from '../sessions/service.ts';
import { checkEventId, isToolEvent, parseEventName, planEvent, type EventPlan, type HookEventName, type HookPayload } from './events.ts';
import { claudeSeed, inScope, isRunnerSession, prepareToolLog, RUNNER_RECORDED, storeEventRows } from './ingest.ts';

export interface BatchEventInput {
  event: string;
  id?: string | undefined;
  /** Checked by the route with the single-event route's body schema. */
  payload: HookPayload;
  /** Set by the route when the payload failed that schema: the event is refused with this message. */
  payloadError?: string | undefined;
}

/** stored: written now; duplicate: already stored (a redelivery); ignored: a runner session's prompt/Stop; refused: never will be. */
export type BatchStatus = 'stored' | 'duplicate' | 'ignored' | 'refused';

export interface BatchEventResult {
  id: string | null;
  status: BatchStatus;
  session_id?: string | undefined;
  /** For refused: the error code the single-event route would answer, and its HTTP status. */
  code?: string | undefined;
  http_status?: number | undefined;
  message?: string | undefined;
}

type Prepared =
  | { kind: 'refused'; id: string | null; error: AppError }
  | { kind: 'tool'; id: string | null; seed: ClaudeSessionSeed; log: NewCommandLogRow }
  | { kind: 'event'; id: string | null; event: HookEventName; seed: ClaudeSessionSeed; plan: EventPlan };

interface BatchWrite {
  sessions: Map<string, { row: SessionRow; created: boolean }> | undefined;
  toolOut: ClaudeLogOutcome[];
  eventOut: EventWrite[];
}

interface EventWrite {
  ignored?: true;
  /** Another owner's session: refused, nothing written. */
  foreign?: true;
  ev?: SessionEventRow | undefined;
  msg?: MessageRow | undefined;
  /** The session as it is after this event (closed, or named by its first prompt): published as updated. */
  completed?: SessionRow | undefined;
}

function prepare(item: BatchEventInput, index: number, resultMaxBytes: number, owner: string | null, scope: string | null): Prepared {
  const rawId = item.id ?? null;
  try {
    const event = parseEventName(item.event);
    const id = item.id === undefined ? null : checkEventId(item.id);
    if (item.payloadError !== undefined) throw new AppError('invalid_request', `events[${index}].payload${item.payloadError}`, 400);
    const p = item.payload;
    if (isToolEvent(event)) return { kind: 'tool', id, seed: claudeSeed(p, owner, scope), log: toLogRow(prepareToolLog(event, p, resultMaxBytes)) };
    return { kind: 'event', id, event, seed: claudeSeed(p, owner, scope), plan: planEvent(event, p) };
  } catch (e: unknown) {
    if (e instanceof AppError && e.statusCode >= 400 && e.statusCode < 500) return { kind: 'refused', id: rawId, error: e };
    throw e;
  }
}

export async function storeHookBatch(
  deps: { database: Database; events: EventBus; resultMaxBytes: number; owner: string | null; scope: string | null },
  items: readonly BatchEventInput[],
): Promise<BatchEventResult[]> {
  const prepared = items.map((it, i) => prepare(it, i, deps.resultMaxBytes, deps.owner, deps.scope));
  const tools = prepared.filter((p) => p.kind === 'tool');
  const others = prepared.filter((p) => p.kind === 'event');
  const write = async (db: Executor): Promise<BatchWrite> => {
    // Every session of the batch, locked once in a fixed order before anything else takes its row lock.
    // In batch order, so a new session takes its project path from its first event, as when sent alone.
    const seeds = prepared.flatMap((p) => (p.kind === 'refused' ? [] : [p.seed]));
    if (!others.length) return { sessions: undefined, toolOut: await upsertSessionsAndInsertLogs(db, tools.map((t) => ({ seed: t.seed, log: t.log }))), eventOut: [] };
    const sessions = await upsertClaudeSessions(db, seeds);
    return { sessions, ...(await writeWithEvents(db, tools, others, sessions, deps.scope)) };
  };
  // Tool events alone are one statement, committed by itself; anything else shares one transaction.
  const out = others.length ? await deps.database.db.transaction().execute(write) : tools.length ? await write(deps.database.db) : undefined;
  return publishAndAnswer(deps.events, prepared, out);
}

type ToolItem = Extract<Prepared, { kind: 'tool' }>;
type EventItem = Extract<Prepared, { kind: 'event' }>;
type Sessions = Map<string, { row: SessionRow; created: boolean }>;

/** The batch's tool logs and other events, in order, once their sessions are upserted and locked. */
async function writeWithEvents(db: Executor, tools: readonly ToolItem[], others: readonly EventItem[], sessions: Sessions, scope: string | null): Promise<Pick<BatchWrite, 'toolOut' | 'eventOut'>> {
  const sessionOf = (seed: ClaudeSessionSeed) => {
    const s = sessions.get(seed.claudeSessionId);
    if (!s) throw new Error('batch session upsert lost a session');
    return s.row;
  };
  const eventOut: EventWrite[] = [];
  const toWrite: { k: number; e: EventItem; row: SessionRow }[] = [];
  others.forEach((e, k) => {
    const row = sessionOf(e.seed);
    if (!inScope(scope, row.owner)) eventOut.push({ foreign: true });
    else if (isRunnerSession(row) && RUNNER_RECORDED.includes(e.event)) eventOut.push({ ignored: true });
    else {
      eventOut.push({});
      toWrite.push({ k, e, row });
    }
  });
  // A SessionEnd (rare: once per session) changes the session between events: such a batch keeps
  // the one-event-at-a-time statements and order exactly; the rest is one statement.
  if (toWrite.some((w) => w.e.plan.completesSession)) {
    const toolOut = tools.length ? await upsertSessionsAndInsertLogs(db, tools.map((t) => ({ seed: t.seed, log: t.log }))) : [];
    for (const w of toWrite) eventOut[w.k] = await storeEventRows(db, w.row, w.e.event, w.e.id, w.e.plan);
    return { toolOut, eventOut };
  }
  const toolRows = tools.map((t) => sessionOf(t.seed));
  const logItems = tools.flatMap((t, i) => (inScope(scope, toolRows[i]!.owner) ? [{ session_id: toolRows[i]!.id, log: t.log }] : []));
  // Nothing to write (a runner session's prompt and Stop, another owner's events): no statement.
  const written = toWrite.length || logItems.length
    ? await insertBatchEvents(
      db,
      toWrite.map(({ e, row }) => {
        const m = e.plan.message;
        const message = m && !isRunnerSession(row) ? { direction: m.direction, content: m.content, source: 'cli', metadata: m.metadata } : undefined;
        return { event: { session_id: row.id, event: e.event, event_key: e.id, data: e.plan.data }, message };
      }),
      logItems,
    )
    : { events: [], logs: [] };
  toWrite.forEach((w, j) => {
    const r = written.events[j]!;
    if (r.event) eventOut[w.k] = { ev: r.event, msg: r.message, completed: r.titled };
  });
  let next = 0;
  // The session announcement comes from the sessions map (publishAndAnswer), so no log carries one.
  const toolOut = toolRows.map((row): ClaudeLogOutcome => {
    if (!inScope(scope, row.owner)) return { sessionId: row.id, createdSession: undefined, log: undefined, foreign: true };
    return { sessionId: row.id, createdSession: undefined, log: written.logs[next++] };
  });
  return { toolOut, eventOut };
}

function refusedForeign(id: string | null): BatchEventResult {
  const e = foreignClaudeSession();
  return { id, status: 'refused', code: e.code, http_status: e.statusCode, message: e.message };
}

/** Publishes what was stored, in batch order (a new session before its first row), and builds the answer. */
function publishAndAnswer(bus: EventBus, prepared: Prepared[], out: BatchWrite | undefined): BatchEventResult[] {
  const announced = new Set<string>();
  const announce = (row: SessionRow | undefined) => {
    if (!row || announced.has(row.id)) return;
    announced.add(row.id);
    bus.publish({ type: 'session.created', session: toSession(row) });
  };
  let t = 0;
  let o = 0;
  return prepared.map((p): BatchEventResult => {
    if (p.kind === 'refused') return { id: p.id, status: 'refused', code: p.error.code, http_status: p.error.statusCode, message: p.error.message };
    if (!out) throw new Error('batch written without an outcome');
    const s = out.sessions?.get(p.seed.claudeSessionId);
    if (p.kind === 'tool') {
      const r = out.toolOut[t++] as ClaudeLogOutcome;
      if (r.foreign) return refusedForeign(p.id);
      announce(s ? (s.created ? s.row : undefined) : r.createdSession);
      if (r.log) bus.publish({ type: 'log.created', log: toCommandLog(r.log) });
      return { id: p.id, status: r.log ? 'stored' : 'duplicate', session_id: r.sessionId };
    }
    const w = out.eventOut[o++] as EventWrite;
    if (!s) throw new Error('batch session upsert lost a session');
    if (w.foreign) return refusedForeign(p.id);
    announce(s.created ? s.row : undefined);
    if (w.ignored) return { id: p.id, status: 'ignored', session_id: s.row.id };
    if (!w.ev) return { id: p.id, status: 'duplicate', session_id: s.row.id };
    bus.publish({ type: 'session_event.created', event: toSessionEvent(w.ev) });
    if (w.msg) bus.publish({ type: 'message.created', message: toMessage(w.msg) });
    if (w.completed) bus.publish({ type: 'session.updated', session: toSession(w.completed) });
    return { id: p.id, status: 'stored', session_id: s.row.id };
  });
}
