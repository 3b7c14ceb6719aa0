/**
 * The session writes that must be all or nothing, each one transaction: a
 * managed session with its first message and turn; a user message with its turn
 * (and what running it needs: taking the session over, reopening it); a
 * workspace made after its session. A request that fails in any statement leaves
 * no row behind, so a client that sees an error can retry without duplicating,
 * and every acknowledged user message has a turn.
 */
import type { Kysely, Transaction } from 'kysely';
import type { DB } from '../db/schema.ts';
import { insertMessage, type MessageRow, type NewMessageRow } from '../db/queries/messages.ts';
import { findSessionForUpdate, insertSession, setManaged, setWorkspace, updateSession, type NewSessionRow, type SessionRow } from '../db/queries/sessions.ts';
import { cancelQueuedTurns, insertTurn, setTurnState, type TurnRow } from '../db/queries/turns.ts';
import { AppError, conflict, notFound } from '../lib/errors.ts';

export interface Written {
  session: SessionRow;
  message?: MessageRow | undefined;
  turn?: TurnRow | undefined;
  /** True when the session row changed (managed, status, workspace): publish session.updated. */
  sessionChanged?: boolean;
}

/** The state of a session's workspace: preparing (made in the background), ready, or failed. */
export function workspaceState(metadata: Record<string, unknown>): 'preparing' | 'ready' | 'failed' | undefined {
  const w = metadata.workspace as { state?: unknown } | undefined;
  if (typeof w !== 'object' || w === null) return undefined;
  return w.state === 'preparing' || w.state === 'failed' ? w.state : 'ready';
}

export async function createSessionWithTurn(db: Kysely<DB>, s: NewSessionRow, first: Omit<NewMessageRow, 'session_id'> | undefined, closeAfter = false): Promise<Written> {
  return db.transaction().execute(async (tx) => {
    const session = await insertSession(tx, s);
    if (!first) return { session };
    const message = await insertMessage(tx, { ...first, session_id: session.id });
    if (!message) throw notFound('session', session.id);
    const turn = await insertTurn(tx, { session_id: session.id, message_id: Number(message.id), prompt: message.content, source: message.source, close_after: closeAfter });
    return { session: await waitsForWorkspace(tx, session), message, turn };
  });
}

/**
 * A turn stored while the session's workspace is being prepared is not handed to the runner yet
 * (the preparation does that when it is ready), so it is marked queued here, in the same transaction.
 */
async function waitsForWorkspace(tx: Transaction<DB>, session: SessionRow): Promise<SessionRow> {
  if (workspaceState(session.metadata ?? {}) !== 'preparing' || session.turn_state === 'queued') return session;
  await setTurnState(tx, session.id, 'queued');
  return { ...session, turn_state: 'queued' };
}

export interface MessageWithTurnOptions {
  /** Take over a record-only session: mark it managed with these run options and this workspace record. */
  takeover?: { runOptions: Record<string, unknown>; workspace: Record<string, unknown> } | undefined;
  /** Close the session when this turn ends. */
  closeAfter?: boolean | undefined;
  /** More writes in the same transaction, with the new turn's id (throw to store nothing). */
  also?: ((tx: Transaction<DB>, turnId: number) => Promise<void>) | undefined;
}

export async function addUserMessageWithTurn(db: Kysely<DB>, sessionId: string, m: Omit<NewMessageRow, 'session_id'>, opts: MessageWithTurnOptions): Promise<Written> {
  return db.transaction().execute(async (tx) => {
    // The row lock orders this against a workspace becoming ready (see SessionCommands).
    let session = await findSessionForUpdate(tx, sessionId);
    if (!session) throw notFound('session', sessionId);
    if (session.status === 'completed') throw conflict('session_completed', 'the session is completed; start a new session to run more turns');
    if (workspaceState(session.metadata ?? {}) === 'failed') {
      throw conflict('workspace_failed', 'the session\'s workspace could not be prepared; start a new session');
    }
    let sessionChanged = false;
    if (opts.takeover && !session.managed) {
      await updateSession(tx, sessionId, { metadataPatch: { workspace: opts.takeover.workspace } });
      session = (await setManaged(tx, sessionId, opts.takeover.runOptions)) ?? session;
      sessionChanged = true;
    }
    if (session.status === 'error') {
      session = (await updateSession(tx, sessionId, { status: 'active' })) ?? session;
      sessionChanged = true;
    }
    const message = await insertMessage(tx, { ...m, session_id: sessionId });
    if (!message) throw notFound('session', sessionId);
    const turn = await insertTurn(tx, { session_id: sessionId, message_id: Number(message.id), prompt: message.content, source: message.source, close_after: opts.closeAfter ?? false });
    await opts.also?.(tx, Number(turn.id));
    const waiting = await waitsForWorkspace(tx, session);
    return { session: waiting, message, turn, sessionChanged: sessionChanged || waiting !== session };
  });
}

/**
 * Stores the workspace made for a session created while it was prepared (also when the
 * session was completed meanwhile: the caller then releases it, and the record says where
 * it was). Undefined when the session no longer exists.
 */
export async function storePreparedWorkspace(db: Kysely<DB>, sessionId: string, record: Record<string, unknown>): Promise<SessionRow | undefined> {
  return db.transaction().execute(async (tx) => {
    if (!(await findSessionForUpdate(tx, sessionId))) return undefined;
    return setWorkspace(tx, sessionId, String(record.path), { ...record, state: 'ready' });
  });
}

/**
 * Records that a session's workspace could not be made: state failed with the
 * error, status error, its queued turns cancelled and a system message saying
 * why; all at once, so no reader sees a failed workspace with turns waiting.
 */
export async function storeFailedWorkspace(
  db: Kysely<DB>,
  sessionId: string,
  error: { code: string; message: string },
  note: string,
): Promise<{ session: SessionRow; message: MessageRow } | undefined> {
  return db.transaction().execute(async (tx) => {
    const current = await findSessionForUpdate(tx, sessionId);
    if (!current) return undefined;
    const workspace = { ...((current.metadata?.workspace as Record<string, unknown> | undefined) ?? {}), state: 'failed', error };
    await cancelQueuedTurns(tx, sessionId);
    await setTurnState(tx, sessionId, 'idle');
    const message = await insertMessage(tx, { session_id: sessionId, direction: 'system', content: note, source: 'api', metadata: { reason: 'workspace_failed', error_code: error.code } });
    const session = await updateSession(tx, sessionId, { metadataPatch: { workspace }, ...(current.status === 'completed' ? {} : { status: 'error' }) });
    if (!message || !session) throw new AppError('session_gone', 'the session disappeared while its workspace failed', 500);
    return { session, message };
  });
}
