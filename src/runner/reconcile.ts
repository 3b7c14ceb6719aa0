/**
 * The reconciler: every runner process, now and then, puts right what no single process can see go
 * wrong (a workspace preparation whose API process died included). Jobs are written after the turn they stand for (a crash between loses the job); a job that
 * failed for good holds its session's queue; a turn can be left running with no job behind it. The
 * turns table is the truth; the queue is made to match it. Safe to run in several processes at once:
 * a job too many runs nothing, and every turn write is conditional.
 */
import type { Database } from '../db/database.ts';
import { orphanedRunningTurns, sessionsMissingJobs } from '../db/queries/turn-dispatch.ts';
import { sessionsToCloseAfterTurn } from '../db/queries/turns.ts';
import type { Logger } from '../logger.ts';
import { TURN_QUEUE, type TurnQueue } from '../queue/turn-queue.ts';
import type { SessionService } from '../sessions/service.ts';
import { failOrphanedPreparations, settleAbandonedTurn } from './recovery.ts';

export class Reconciler {
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;

  constructor(
    private readonly deps: {
      database: Database;
      sessions: SessionService;
      queue: TurnQueue;
      logger: Logger;
      intervalMs: number;
      /** Closes a session whose close_after turn ended (the runner's own close was lost to a crash or an error). */
      closeAfterTurn?: ((sessionId: string, turnId: number) => Promise<void>) | undefined;
    },
  ) {}

  /** Runs once now and then every intervalMs. Idempotent. */
  start(): void {
    if (this.#timer) return;
    void this.runOnce();
    this.#timer = setInterval(() => void this.runOnce(), this.deps.intervalMs);
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await this.#running;
  }

  /** One pass; a pass already running is joined, not doubled. */
  runOnce(): Promise<void> {
    this.#running ??= this.#pass()
      .catch((err: unknown) => this.deps.logger.warn({ err }, 'reconciling turns and jobs failed; next pass retries'))
      .finally(() => {
        this.#running = undefined;
      });
    return this.#running;
  }

  async #pass(): Promise<void> {
    const { database, sessions, queue, logger } = this.deps;
    const db = database.db;
    // Preparations whose API process is gone never finish; their sessions end as failed now.
    await failOrphanedPreparations({ db, sessions, logger }, true);
    const unblocked = await queue.removeFailed();
    if (unblocked.length) logger.warn({ sessions: unblocked }, 'removed failed turn jobs that held their sessions');
    for (const t of await orphanedRunningTurns(db, queue.schema, TURN_QUEUE)) {
      await settleAbandonedTurn({ db, sessions, log: logger }, t);
      await sessions.refreshTurnState(t.session_id);
    }
    for (const { session_id, missing } of await sessionsMissingJobs(db, queue.schema, TURN_QUEUE)) {
      for (let i = 0; i < missing; i++) await queue.enqueue(session_id, 'reconciled');
      logger.info({ sessionId: session_id, jobs: missing }, 'queued jobs for stored turns that had none');
      await sessions.refreshTurnState(session_id);
    }
    if (this.deps.closeAfterTurn) {
      for (const { session_id, turn_id } of await sessionsToCloseAfterTurn(db)) {
        // A turn still being finished here is closed by its runner in a moment; closing twice is harmless.
        await this.deps.closeAfterTurn(session_id, turn_id).catch((err: unknown) => logger.warn({ err, sessionId: session_id }, 'could not close a session after its close_after turn'));
      }
    }
  }
}
