/**
 * The session lifecycle: creating, reading, updating sessions and appending to
 * their conversation and tool log. Every committed change is published on the
 * event bus. No HTTP and no SQL strings here.
 */
import { randomUUID } from 'node:crypto';
import { markContinued, pendingCounts } from '../db/queries/approvals.ts';
import type { Database } from '../db/database.ts';
import type { Transaction } from 'kysely';
import type { DB } from '../db/schema.ts';
import {
  findCommandLog,
  insertCommandLog,
  listCommandLogs,
  upsertSessionAndInsertLog,
  upsertSessionsAndInsertLogs,
  type ClaudeLogItem,
  type ClaudeLogOutcome,
} from '../db/queries/command-logs.ts';
import { findMessage, insertMessage, listMessages } from '../db/queries/messages.ts';
import { refreshTurnState } from '../db/queries/turn-dispatch.ts';
import { setSessionBudget } from '../db/queries/budgets.ts';
import { addSessionTotals, cancelQueuedTurns, listTurns, type TurnOutcome } from '../db/queries/turns.ts';
import {
  findSession,
  findSessionForUpdate,
  insertSession,
  listSessions,
  setManaged,
  updateSession,
  type SessionRow,
} from '../db/queries/sessions.ts';
import type { EventBus } from '../events/bus.ts';
import { decodeCursor, encodeCursor, isIdCursor, isTimeIdCursor } from '../lib/cursor.ts';
import { Batcher } from '../lib/batcher.ts';
import { AppError, conflict, foreignClaudeSession, notFound } from '../lib/errors.ts';
import { messageRow, sessionRow, toLogRow, type CreateSessionInput, type ListSessionsInput, type NewLogInput, type NewMessageInput, type UpdateSessionInput } from './inputs.ts';
import { toCommandLog, toMessage, toSession, toTurn } from './mappers.ts';
import { turnSnapshots, withTools } from './turn-review.ts';
import { addUserMessageWithTurn, createSessionWithTurn, storeFailedWorkspace, storePreparedWorkspace, type MessageWithTurnOptions, type Written } from './transactions.ts';
import {
  TRANSITIONS,
  type CommandLog,
  type LogStatus,
  type Message,
  type Page,
  type Session,
  type SessionStatus,
  type Turn,
} from './types.ts';

export type { CreateSessionInput, ListSessionsInput, NewLogInput, NewMessageInput, UpdateSessionInput } from './inputs.ts';
export { toLogRow } from './inputs.ts';

export class SessionService {
  /** Hook events arrive in bursts from many runs; concurrent ones share a statement and a commit. */
  readonly #hookWrites: Batcher<ClaudeLogItem, ClaudeLogOutcome>;

  constructor(
    private readonly database: Database,
    private readonly events: EventBus,
  ) {
    this.#hookWrites = new Batcher(
      (items) => upsertSessionsAndInsertLogs(this.db, items),
      async (item) => {
        const r = await upsertSessionAndInsertLog(this.db, item.seed, item.log);
        const created = r.createdSession ? await findSession(this.db, r.sessionId) : undefined;
        return { sessionId: r.sessionId, createdSession: created, log: r.log, foreign: r.foreign };
      },
    );
  }

  private get db() {
    return this.database.db;
  }

  async create(input: CreateSessionInput): Promise<Session> {
    let row: SessionRow;
    try {
      row = await insertSession(this.db, sessionRow(input));
    } catch (e: unknown) {
      throw mapUniqueViolation(e);
    }
    const session = toSession(row);
    this.events.publish({ type: 'session.created', session });
    return session;
  }

  /** A managed session and, with a first prompt, its message and queued turn: all stored or none. */
  async createWithTurn(input: CreateSessionInput, prompt: NewMessageInput | undefined, closeAfter = false): Promise<{ session: Session; message?: Message | undefined; turnId?: number | undefined }> {
    let w: Written;
    try {
      w = await createSessionWithTurn(this.db, sessionRow(input), prompt && messageRow(prompt), closeAfter);
    } catch (e: unknown) {
      throw mapUniqueViolation(e);
    }
    const session = toSession(w.session);
    this.events.publish({ type: 'session.created', session });
    const message = w.message && toMessage(w.message);
    if (message) this.events.publish({ type: 'message.created', message });
    return { session, message, turnId: w.turn && Number(w.turn.id) };
  }

  /** Approval requests waiting for a decision, by session (sessions without any are absent). */
  async pendingApprovals(sessionIds: string[]): Promise<Map<string, number>> {
    return new Map((await pendingCounts(this.db, sessionIds)).map((r) => [r.session_id, Number(r.n)]));
  }

  /** Records that a late approval decision needs no continuation turn (0) or got one. */
  async markApprovalContinued(approvalId: string, turnId: number): Promise<void> {
    await markContinued(this.db, approvalId, turnId);
  }

  /** A user message and the queued turn that runs it, in one transaction (see transactions.ts). */
  async addMessageWithTurn(sessionId: string, m: NewMessageInput, opts: MessageWithTurnOptions = {}): Promise<{ session: Session; message: Message; turnId: number }> {
    const w = await addUserMessageWithTurn(this.db, sessionId, messageRow(m), opts);
    const session = toSession(w.session);
    if (w.sessionChanged) this.events.publish({ type: 'session.updated', session });
    const message = toMessage(w.message!);
    this.events.publish({ type: 'message.created', message });
    return { session, message, turnId: Number(w.turn!.id) };
  }

  /** Stores a workspace prepared in the background; undefined when the session no longer exists. */
  async storePreparedWorkspace(sessionId: string, record: Record<string, unknown>): Promise<Session | undefined> {
    const row = await storePreparedWorkspace(this.db, sessionId, record);
    if (!row) return undefined;
    const session = toSession(row);
    this.events.publish({ type: 'session.updated', session });
    return session;
  }

  /** Records a workspace that could not be prepared (state failed, status error, a system message). */
  async storeFailedWorkspace(sessionId: string, error: { code: string; message: string }, note: string): Promise<void> {
    const w = await storeFailedWorkspace(this.db, sessionId, error, note);
    if (!w) return;
    this.events.publish({ type: 'message.created', message: toMessage(w.message) });
    this.events.publish({ type: 'session.updated', session: toSession(w.session) });
  }

  async get(id: string): Promise<Session> {
    const row = await findSession(this.db, id);
    if (!row) throw notFound('session', id);
    return toSession(row);
  }

  async list(q: ListSessionsInput): Promise<Page<Session>> {
    const after = q.cursor ? decodeCursor(q.cursor, isTimeIdCursor) : undefined;
    const rows = await listSessions(this.db, {
      ...q.filter,
      limit: q.limit + 1,
      after: after ? { updatedAt: new Date(after[0]), id: after[1] } : undefined,
    });
    const data = rows.slice(0, q.limit).map(toSession);
    const last = data[data.length - 1];
    return { data, next_cursor: rows.length > q.limit && last ? encodeCursor([last.updated_at, last.id]) : null };
  }

  /**
   * Applies a status change (checked against TRANSITIONS), a claude_session_id and a metadata merge atomically.
   * With `onlyFrom`, nothing changes unless the session's status is that one (checked under the row lock).
   */
  async update(id: string, patch: UpdateSessionInput, opts: { onlyFrom?: SessionStatus } = {}): Promise<{ session: Session; previousStatus: SessionStatus }> {
    const { row, previous } = await this.db.transaction().execute(async (tx) => {
      const current = await findSessionForUpdate(tx, id);
      if (!current) throw notFound('session', id);
      const from = current.status as SessionStatus;
      if (opts.onlyFrom && from !== opts.onlyFrom) return { row: current, previous: from };
      if (patch.status && patch.status !== from && !TRANSITIONS[from].includes(patch.status)) {
        throw conflict('invalid_transition', `cannot change status from ${from} to ${patch.status}${from === 'completed' ? ' (completed is final)' : ''}`);
      }
      try {
        const updated = await updateSession(tx, id, {
          ...(patch.status ? { status: patch.status } : {}),
          ...(patch.claude_session_id !== undefined ? { claude_session_id: patch.claude_session_id } : {}),
          ...(patch.title !== undefined ? { title: patch.title } : {}),
          ...(patch.metadata ? { metadataPatch: patch.metadata } : {}),
        });
        return { row: updated, previous: from };
      } catch (e: unknown) {
        throw mapUniqueViolation(e);
      }
    });
    if (!row) throw notFound('session', id);
    const session = toSession(row);
    this.events.publish({ type: 'session.updated', session });
    return { session, previousStatus: previous };
  }

  async addMessage(sessionId: string, m: NewMessageInput): Promise<Message> {
    const row = await insertMessage(this.db, { session_id: sessionId, ...messageRow(m) });
    if (!row) throw notFound('session', sessionId);
    const message = toMessage(row);
    this.events.publish({ type: 'message.created', message });
    return message;
  }

  /**
   * A notice written in the same transaction as another write, and only if that write happened
   * (`write` returns undefined when it found nothing to change): whoever sees the change finds the notice.
   */
  async addMessageIf(sessionId: string, m: NewMessageInput, write: (tx: Transaction<DB>) => Promise<unknown>): Promise<Message | undefined> {
    const row = await this.db.transaction().execute(async (tx) => ((await write(tx)) === undefined ? undefined : insertMessage(tx, { session_id: sessionId, ...messageRow(m) })));
    if (!row) return undefined;
    const message = toMessage(row);
    this.events.publish({ type: 'message.created', message });
    return message;
  }

  async listMessages(sessionId: string, limit: number, cursor?: string): Promise<Page<Message>> {
    await this.get(sessionId);
    const afterId = cursor ? decodeCursor(cursor, isIdCursor) : undefined;
    const rows = await listMessages(this.db, sessionId, limit + 1, afterId);
    return pageById(rows.map(toMessage), limit);
  }

  async getMessage(sessionId: string, id: number): Promise<Message> {
    const row = await findMessage(this.db, sessionId, id);
    if (!row) throw notFound('message', `${id} of session ${sessionId}`);
    return toMessage(row);
  }

  async getLog(sessionId: string, id: number): Promise<CommandLog> {
    const row = await findCommandLog(this.db, sessionId, id);
    if (!row) throw notFound('log', `${id} of session ${sessionId}`);
    return toCommandLog(row);
  }

  /** Stores a tool execution; a repeated tool_use_id for the session is ignored (returns undefined). */
  async addLog(sessionId: string, l: NewLogInput): Promise<CommandLog | undefined> {
    const row = await insertCommandLog(this.db, sessionId, toLogRow(l));
    if (!row) {
      await this.get(sessionId); // distinguishes "unknown session" (404) from "duplicate" (ignored)
      return undefined;
    }
    const log = toCommandLog(row);
    this.events.publish({ type: 'log.created', log });
    return log;
  }

  /**
   * Stores a tool execution reported by Claude Code's own session id, creating a
   * session for runs started outside the orchestrator.
   */
  async addLogByClaudeSession(
    claude: { claudeSessionId: string; projectPath: string; metadata: Record<string, unknown>; owner: string | null; scope?: string | null | undefined },
    l: NewLogInput,
  ): Promise<{ sessionId: string; log: CommandLog | undefined; createdSession: boolean }> {
    const r = await this.#hookWrites.submit({
      seed: { id: randomUUID(), claudeSessionId: claude.claudeSessionId, projectPath: claude.projectPath, metadata: claude.metadata, owner: claude.owner, scope: claude.scope },
      log: toLogRow(l),
    });
    if (r.foreign) throw foreignClaudeSession();
    if (r.createdSession) this.events.publish({ type: 'session.created', session: toSession(r.createdSession) });
    const log = r.log ? toCommandLog(r.log) : undefined;
    if (log) this.events.publish({ type: 'log.created', log });
    return { sessionId: r.sessionId, log, createdSession: r.createdSession !== undefined };
  }

  async listLogs(sessionId: string, q: { limit: number; cursor?: string | undefined; tool?: string | undefined; status?: LogStatus | undefined }): Promise<Page<CommandLog>> {
    await this.get(sessionId);
    const afterId = q.cursor ? decodeCursor(q.cursor, isIdCursor) : undefined;
    const rows = await listCommandLogs(this.db, sessionId, { limit: q.limit + 1, afterId, tool: q.tool, status: q.status });
    return pageById(rows.map(toCommandLog), q.limit);
  }

  /**
   * Sets the session's turn state (running, queued, idle) from its turns and tells subscribers when
   * it changed. Called by whoever changed a turn, in any process (see refreshTurnState's SQL).
   */
  async refreshTurnState(sessionId: string): Promise<void> {
    const row = await refreshTurnState(this.db, sessionId);
    if (row) this.events.publish({ type: 'session.updated', session: toSession(row) });
  }

  async recordTurnTotals(sessionId: string, o: TurnOutcome): Promise<void> {
    await addSessionTotals(this.db, sessionId, {
      cost_usd: o.cost_usd ?? 0,
      input_tokens: o.input_tokens ?? 0,
      output_tokens: o.output_tokens ?? 0,
      num_turns: o.num_turns ?? 0,
    });
    await this.#publishUpdated(sessionId);
  }

  /** Marks a session as run by the orchestrator, with the options its turns use. */
  async setManaged(sessionId: string, runOptions: Record<string, unknown>): Promise<Session> {
    const row = await setManaged(this.db, sessionId, runOptions);
    if (!row) throw notFound('session', sessionId);
    const session = toSession(row);
    this.events.publish({ type: 'session.updated', session });
    return session;
  }

  async listTurns(sessionId: string, limit: number, cursor?: string): Promise<Page<Turn>> {
    await this.get(sessionId);
    const afterId = cursor ? decodeCursor(cursor, isIdCursor) : undefined;
    const rows = await listTurns(this.db, sessionId, limit + 1, afterId);
    return withTools(this.db, pageById(rows.map(toTurn), limit));
  }

  /** The snapshot pair of a turn's own diff (see turn-review.ts for the 404 and 409 answers). */
  turnSnapshots(sessionId: string, turnId: number): Promise<{ from: string; tree: string }> {
    return turnSnapshots(this.db, sessionId, turnId);
  }

  /** Cancels turns still waiting (the session was closed); returns how many. */
  async cancelQueuedTurns(sessionId: string): Promise<number> {
    return (await cancelQueuedTurns(this.db, sessionId)).length;
  }

  /** Budgets (src/budgets): sets budget_usd and/or the reached mark (undefined: unchanged). */
  async setBudget(sessionId: string, set: { budgetUsd?: number | null; reachedAt?: Date | null }): Promise<Session> {
    const row = await setSessionBudget(this.db, sessionId, set);
    if (!row) throw notFound('session', sessionId);
    const session = toSession(row);
    this.events.publish({ type: 'session.updated', session });
    return session;
  }

  async #publishUpdated(sessionId: string): Promise<void> {
    const row = await findSession(this.db, sessionId);
    if (row) this.events.publish({ type: 'session.updated', session: toSession(row) });
  }
}

function pageById<T extends { id: number }>(items: T[], limit: number): Page<T> {
  const data = items.slice(0, limit);
  const last = data[data.length - 1];
  return { data, next_cursor: items.length > limit && last ? encodeCursor(last.id) : null };
}

function mapUniqueViolation(e: unknown): unknown {
  if ((e as { code?: string }).code === '23505') {
    return new AppError('claude_session_id_taken', 'another session already has this claude_session_id', 409, { cause: e });
  }
  return e;
}
