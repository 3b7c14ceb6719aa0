/**
 * Waiting for a turn to end (POST ... wait, GET /api/sessions/:id/turns/:turn?wait=N), whichever
 * process runs it. Nothing here knows the runner: the turns table is the truth and the event bus
 * (which carries every process's writes to every API process) says when to look again. A waiter
 * registers for its session's events first, then reads the turn, then sleeps until an event of that
 * session, a slow backstop re-read (an event lost to a reader restart), its deadline, its client
 * leaving or the server stopping; never a busy poll.
 *
 * A turn row turns final before the runner has scanned the workspace and settled the session
 * (turn_state) and, for close_after, closed it; the answer waits for those too, for a bounded
 * grace, so a client that acts on it finds the session as the turn left it.
 */
import { sql } from 'kysely';
import type { Database } from '../db/database.ts';
import { findTurn, turnAnswer, type TurnRow } from '../db/queries/turns.ts';
import type { EventBus } from '../events/bus.ts';
import { notFound } from '../lib/errors.ts';
import { toTurn } from './mappers.ts';
import type { TurnStatus } from './types.ts';

/** A turn as the wait answers it: its outcome and answer once it ended. */
export interface TurnResult {
  id: number;
  session_id: string;
  status: TurnStatus;
  /** The turn's last assistant message; null until it ended (or when it wrote none). */
  answer: string | null;
  cost_usd: number | null;
  duration_ms: number | null;
  input_tokens: number | null;
  output_tokens: number | null;
  num_turns: number | null;
  error: string | null;
  /** Claude Code's result subtype (success, error_max_turns, error_during_execution, ...). */
  subtype: string | null;
  created_at: string;
  started_at: string | null;
  ended_at: string | null;
  close_after: boolean;
}

export const FINAL_TURN_STATUSES: readonly TurnStatus[] = ['completed', 'error', 'interrupted', 'timed_out', 'cancelled'];

export interface TurnWaiterOptions {
  /** Re-read this often even without events. */
  backstopMs: number;
  /** After the turn ended, how long to wait at most for its session to settle (and close). */
  settleGraceMs: number;
}

export const DEFAULT_TURN_WAITER_OPTIONS: TurnWaiterOptions = { backstopMs: 3000, settleGraceMs: 15_000 };

export class TurnWaiter {
  /** Per session, the wake-up of each wait on it. */
  readonly #wakers = new Map<string, Set<() => void>>();
  readonly #unsubscribe: () => void;
  #closed = false;
  readonly o: TurnWaiterOptions;

  constructor(
    private readonly deps: { database: Database; events: EventBus },
    opts: Partial<TurnWaiterOptions> = {},
  ) {
    this.o = { ...DEFAULT_TURN_WAITER_OPTIONS, ...opts };
    this.#unsubscribe = deps.events.subscribe((e) => {
      if (e.type !== 'session.updated' && e.type !== 'message.created') return;
      for (const wake of this.#wakers.get(e.session_id) ?? []) wake();
    });
  }

  /** The turn as it is now (404 when the session has no such turn). */
  async read(sessionId: string, turnId: number): Promise<TurnResult> {
    const row = await findTurn(this.deps.database.db, sessionId, turnId);
    if (!row) throw notFound('turn', `${turnId} of session ${sessionId}`);
    return this.#result(row);
  }

  /**
   * Waits up to `timeoutMs` for the turn to end. `ended` false: the time ran out (or the client left,
   * or the server is stopping) first; `turn` is then the turn as it is.
   */
  async wait(sessionId: string, turnId: number, timeoutMs: number, signal?: AbortSignal): Promise<{ ended: boolean; turn: TurnResult }> {
    const deadline = Date.now() + timeoutMs;
    // Counts wake-ups: one that came during a read means read again at once.
    let wakes = 0;
    let kick: (() => void) | undefined;
    const wake = () => {
      wakes += 1;
      kick?.();
    };
    // Registered before the first read: an event between the read and the sleep is not lost.
    let set = this.#wakers.get(sessionId);
    if (!set) this.#wakers.set(sessionId, (set = new Set()));
    set.add(wake);
    signal?.addEventListener('abort', wake);
    try {
      let endedAt: number | undefined;
      for (;;) {
        const seen = wakes;
        const row = await findTurn(this.deps.database.db, sessionId, turnId);
        if (!row) throw notFound('turn', `${turnId} of session ${sessionId}`);
        const stopped = this.#closed || signal?.aborted === true;
        if (FINAL_TURN_STATUSES.includes(row.status as TurnStatus)) {
          endedAt ??= Date.now();
          if (stopped || Date.now() >= Math.min(deadline, endedAt + this.o.settleGraceMs) || (await this.#settled(row))) {
            return { ended: true, turn: await this.#result(row) };
          }
        } else if (stopped || Date.now() >= deadline) {
          return { ended: false, turn: await this.#result(row) };
        }
        if (wakes !== seen) continue;
        const until = Math.min(deadline, Date.now() + this.o.backstopMs, endedAt === undefined ? Infinity : endedAt + this.o.settleGraceMs);
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, Math.max(0, until - Date.now()));
          kick = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        kick = undefined;
      }
    } finally {
      signal?.removeEventListener('abort', wake);
      set.delete(wake);
      if (set.size === 0 && this.#wakers.get(sessionId) === set) this.#wakers.delete(sessionId);
    }
  }

  /** Waits in progress. */
  get waiting(): number {
    let n = 0;
    for (const s of this.#wakers.values()) n += s.size;
    return n;
  }

  /** The server is stopping (closeAll was called). */
  get closing(): boolean {
    return this.#closed;
  }

  /** Server shutdown: every wait answers now (the time ran out), and new ones do not wait. */
  closeAll(): void {
    this.#closed = true;
    for (const s of this.#wakers.values()) for (const wake of s) wake();
  }

  stop(): void {
    this.closeAll();
    this.#unsubscribe();
  }

  /** The session is as the turn left it: settled by its runner (and closed, for close_after). */
  async #settled(turn: TurnRow): Promise<boolean> {
    const db = this.deps.database.db;
    const s = await db.selectFrom('sessions').select(['status', 'turn_state']).where('id', '=', turn.session_id).executeTakeFirst();
    if (!s) return true;
    if (turn.close_after && s.status !== 'completed') return false;
    if (s.turn_state !== 'running') return true;
    // Running another turn (one queued behind this one) is settled too.
    const other = await sql<{ n: number }>`select count(*)::int as n from turns where session_id = ${turn.session_id} and status = 'running'`.execute(db);
    return (other.rows[0]?.n ?? 0) > 0;
  }

  async #result(row: TurnRow): Promise<TurnResult> {
    const t = toTurn(row);
    const ended = FINAL_TURN_STATUSES.includes(t.status);
    return {
      id: t.id,
      session_id: t.session_id,
      status: t.status,
      answer: ended ? await turnAnswer(this.deps.database.db, row) : null,
      cost_usd: t.cost_usd,
      duration_ms: t.duration_ms,
      input_tokens: t.input_tokens,
      output_tokens: t.output_tokens,
      num_turns: t.num_turns,
      error: t.error,
      subtype: t.subtype,
      created_at: t.created_at,
      started_at: t.started_at,
      ended_at: t.ended_at,
      close_after: Boolean(row.close_after),
    };
  }
}
