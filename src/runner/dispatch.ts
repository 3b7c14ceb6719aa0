/**
 * The queueing side of turns, used by every process that takes requests (SessionCommands): a stored
 * turn gets a job in the turn queue keyed by its session; pause and close are sent to whichever
 * runner runs the session. It holds no state, so any number of API processes can use it at once.
 *
 * A job only says "this session has a turn to run": the runner that takes it claims the session's
 * oldest queued turn (src/db/queries/turn-dispatch.ts). So a job made twice, late, or for a turn
 * that was cancelled runs nothing, turns run in the order they were stored, and a paused session's
 * jobs run nothing until resume() queues its turns again.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Database } from '../db/database.ts';
import { queuePositions } from '../db/queries/turn-dispatch.ts';
import { listQueuedTurnIds } from '../db/queries/turns.ts';
import type { Logger } from '../logger.ts';
import type { TurnQueue } from '../queue/turn-queue.ts';
import type { SessionService } from '../sessions/service.ts';
import type { ControlChannel } from './control.ts';

/** How long close() waits for a running turn to finish recording before giving up on the wait. */
const CLOSE_WAIT_MS = 120_000;

export class TurnDispatch {
  constructor(
    private readonly deps: { database: Database; sessions: SessionService; queue: TurnQueue; control: ControlChannel; logger: Logger },
  ) {}

  /** Queues a turn already stored as queued (with its message, in one transaction). */
  async enqueue(sessionId: string, turnId: number): Promise<void> {
    try {
      await this.deps.queue.enqueue(sessionId, String(turnId));
    } catch (err: unknown) {
      // The message and its turn are stored (acknowledged): a runner's reconciler queues the missing
      // job within its interval, so the caller gets its answer rather than an error for a turn that runs.
      this.deps.logger.warn({ err, sessionId, turnId }, 'could not queue the turn now; the reconciler will');
    }
    await this.deps.sessions.refreshTurnState(sessionId);
  }

  /** Queues every stored queued turn of a session (its workspace became ready, or it was resumed). */
  async enqueueStored(sessionId: string): Promise<void> {
    const ids = await listQueuedTurnIds(this.deps.database.db, sessionId);
    for (const id of ids) await this.deps.queue.enqueue(sessionId, String(id));
    await this.deps.sessions.refreshTurnState(sessionId);
  }

  /**
   * The session's status is already stored as paused, so no runner claims its queued turns; this
   * interrupts the one running, wherever it runs.
   */
  async pause(sessionId: string): Promise<void> {
    await this.deps.control.send({ action: 'pause', sessionId });
  }

  /** Jobs of a paused session ran nothing: its queued turns get new ones. */
  async resume(sessionId: string): Promise<void> {
    await this.enqueueStored(sessionId);
  }

  /**
   * The caller has stored the session as completed and cancelled its queued turns: drops their jobs,
   * interrupts a running turn wherever it runs, and resolves once that turn is fully recorded (its
   * after-turn change scan included), so the caller may then release the workspace.
   */
  async close(sessionId: string): Promise<void> {
    await this.deps.queue.dropSession(sessionId);
    await this.deps.control.send({ action: 'close', sessionId });
    const end = Date.now() + CLOSE_WAIT_MS;
    for (let wait = 20; Date.now() < end; wait = Math.min(wait * 2, 500)) {
      const s = await this.deps.sessions.get(sessionId).catch(() => undefined);
      if (!s || s.turn_state !== 'running') return;
      await sleep(wait);
    }
    this.deps.logger.warn({ sessionId }, 'closed session: its running turn did not finish in time; releasing its workspace anyway');
  }

  /** Place of each session's next turn among sessions waiting for a runner. */
  positions(sessionIds: string[]): Promise<Map<string, number>> {
    return queuePositions(this.deps.database.db, sessionIds);
  }
}
