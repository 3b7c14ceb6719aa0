/**
 * The runner: takes turns from the job queue (src/queue/turn-queue.ts) and runs them with Claude
 * Code, at most `concurrency` at once in this process and never two of one session anywhere (the
 * queue's key_strict_fifo policy), and controls them (pause and close from any process through the
 * control channel, timeout, shutdown and drain). Turns live in the database, so a restart or a dead
 * runner loses nothing: what waits runs on another runner, what ran is marked interrupted.
 */
import { sql } from 'kysely';
import { claimNextTurn, listRunningTurns } from '../db/queries/turn-dispatch.ts';
import type { TurnJob } from '../queue/turn-queue.ts';
import { readEnvFile } from './claude-env.ts';
import type { ControlChannel, ControlMessage } from './control.ts';
import { TurnExecutor, type TurnExecutorDeps } from './executor.ts';
import { resolveIsolation, type IsolationStatus } from './isolation.ts';
import { Reconciler } from './reconcile.ts';
import { recordFailedTurn, recoverAlone, recoverShared, settleAbandonedTurn } from './recovery.ts';
import type { Run, RunnerHooks } from './run.ts';
import type { InterruptReason } from './turn.ts';

/** What the executor needs (it gets the env file and isolation from here), plus the intake's own parts. */
export interface RunnerDeps extends Omit<TurnExecutorDeps, 'fileEnv' | 'isolation'> {
  control: ControlChannel;
  /**
   * This process is the only one on its database (the embedded default): at start, jobs left active
   * are a dead process's and are failed at once instead of after their lease expires.
   */
  alone: boolean;
  /** How often the sessions of running turns are checked for a pause or close a notification missed. */
  backstopMs?: number | undefined;
  /** How often the reconciler puts the queue right (reconcile.ts). */
  reconcileMs?: number | undefined;
  /** Test seams; absent in production. */
  hooks?: RunnerHooks | undefined;
}

export class Runner {
  /** The turn each session is running here (set-up, Claude Code and finishing), by session id. */
  readonly #runs = new Map<string, Run>();
  readonly #fileEnv: Record<string, string>;
  readonly #reconciler: Reconciler;
  readonly #executor: TurnExecutor;
  /** Decided once: a host that cannot isolate does not start isolating halfway through. */
  readonly isolation: IsolationStatus;
  #backstop: NodeJS.Timeout | undefined;
  #starting: Promise<void> | undefined;
  #stopping: Promise<void> | undefined;
  #accepting = false;

  constructor(private readonly deps: RunnerDeps) {
    this.#fileEnv = readEnvFile(deps.config.envFile);
    if (this.#fileEnv.IS_SANDBOX !== undefined && !deps.config.allowDangerousModes) {
      // IS_SANDBOX=1 tells Claude Code it may skip its safety checks (bypassPermissions as root).
      throw new Error('CLAUDE_ENV_FILE sets IS_SANDBOX, which is refused unless ALLOW_DANGEROUS_MODES=true');
    }
    this.isolation = resolveIsolation(deps.config.isolation ?? 'auto');
    this.#executor = new TurnExecutor({ ...deps, fileEnv: this.#fileEnv, isolation: this.isolation });
    this.#reconciler = new Reconciler({ database: deps.database, sessions: deps.sessions, queue: deps.queue, logger: deps.logger, intervalMs: deps.reconcileMs ?? 30_000, closeAfterTurn: deps.closeAfterTurn });
  }

  private get db() {
    return this.deps.database.db;
  }

  /** Recovers from the previous run (crash or not), then takes turns from the queue. Idempotent. */
  start(): Promise<void> {
    if (!this.#starting) {
      if (this.isolation.mode === 'off') this.deps.logger.warn({ isolation: this.isolation.mode, setting: this.isolation.setting }, this.isolation.detail);
      else this.deps.logger.info({ isolation: this.isolation.mode, setting: this.isolation.setting }, 'sessions run isolated (bwrap)');
    }
    this.#starting ??= (async () => {
      const deps = { db: this.db, sessions: this.deps.sessions, logger: this.deps.logger };
      if (this.deps.alone) {
        await recoverAlone(deps);
        const failed = await this.deps.queue.failActive();
        if (failed) this.deps.logger.warn({ jobs: failed }, 'turns left running by the previous process are reported now');
      } else {
        await recoverShared(deps);
      }
      await this.deps.control.listen((m) => this.#onControl(m));
      this.#accepting = true;
      await this.deps.queue.work(this.deps.config.maxConcurrentRuns, (job, signal) => this.#take(job, signal));
      this.#reconciler.start();
      this.#backstop = setInterval(() => void this.#checkStatuses(), this.deps.backstopMs ?? 5_000);
      this.#backstop.unref();
    })();
    return this.#starting;
  }

  /** Turns running in this process. */
  get running(): number {
    return this.#runs.size;
  }

  /** Started and not stopping: it takes turns from the queue. */
  get accepting(): boolean {
    return this.#accepting;
  }

  /**
   * Stops taking turns. Running ones get up to `drainMs` to finish; then they are interrupted and
   * recorded as interrupted (or queued again for another runner if Claude Code had not started).
   */
  stop(drainMs = 0): Promise<void> {
    this.#stopping ??= (async () => {
      await this.#starting?.catch(() => {});
      this.#accepting = false;
      clearInterval(this.#backstop);
      await this.deps.queue.stopTaking();
      if (drainMs > 0 && this.#runs.size > 0) {
        this.deps.logger.info({ running: this.#runs.size, drainMs }, 'draining: finishing running turns before stopping');
        await Promise.race([this.#allDone(), new Promise((r) => setTimeout(r, drainMs).unref())]);
      }
      for (const run of this.#runs.values()) {
        run.stop ??= 'shutdown';
        run.handle?.interrupt('shutdown');
      }
      await this.#allDone();
      await this.#reconciler.stop();
      await this.deps.control.stop();
    })();
    return this.#stopping;
  }

  async #allDone(): Promise<void> {
    while (this.#runs.size) await Promise.allSettled([...this.#runs.values()].map((r) => r.done));
  }

  /** A pause or close for a session, from any process: reaches its turn if it runs here. */
  #onControl(m: ControlMessage): void {
    const run = this.#runs.get(m.sessionId);
    if (!run) return;
    if (m.action === 'close') {
      run.stop = 'completed'; // over a shutdown too: a closed session has nothing to run again
      run.handle?.interrupt('completed');
    } else {
      run.stop ??= 'paused';
      run.handle?.interrupt('paused');
    }
  }

  /** The backstop for lost notifications: the stored status of every session running here. */
  async #checkStatuses(): Promise<void> {
    const ids = [...this.#runs.keys()];
    if (ids.length === 0) return;
    try {
      const r = await sql<{ id: string; status: string }>`select id, status from sessions where id = any(${ids}::uuid[])`.execute(this.db);
      for (const row of r.rows) {
        if (row.status === 'completed') this.#onControl({ action: 'close', sessionId: row.id });
        else if (row.status === 'paused') this.#onControl({ action: 'pause', sessionId: row.id });
      }
    } catch (err: unknown) {
      this.deps.logger.debug({ err }, 'could not check the status of running sessions');
    }
  }

  /** One job: the session's next queued turn, run to its end. */
  #take(job: TurnJob, signal: AbortSignal): Promise<void> {
    const sessionId = job.sessionId;
    const run: Run = { turnId: 0, stop: undefined, handle: undefined, done: Promise.resolve(), settled: false, leaseLost: false };
    const onAbort = () => {
      // The lease is gone (pg-boss #555) or the queue stopped waiting: stop before another runner
      // takes the job. That runner reports the turn; this one only stops it.
      run.leaseLost = true;
      run.stop ??= 'shutdown';
      run.handle?.interrupt('shutdown');
    };
    signal.addEventListener('abort', onAbort, { once: true });
    this.#runs.set(sessionId, run);
    run.done = this.#takeJob(run, job).finally(() => {
      signal.removeEventListener('abort', onAbort);
      if (this.#runs.get(sessionId) === run) this.#runs.delete(sessionId);
    });
    return run.done;
  }

  async #takeJob(run: Run, job: TurnJob): Promise<void> {
    const { sessionId } = job;
    const log = this.deps.logger.child({ sessionId, jobId: job.jobId });
    // The queue runs one job per session at a time, so a turn still running now was left by a
    // runner that died or lost its lease (this job's earlier attempt, or an older job).
    for (const t of await listRunningTurns(this.db, sessionId)) {
      await settleAbandonedTurn({ db: this.db, sessions: this.deps.sessions, log }, t);
    }
    if (!this.#accepting || run.stop) {
      // Taken just as this runner began to stop: handed back at once, not left for the reconciler.
      if (!this.#accepting && !run.leaseLost) await this.deps.queue.enqueue(sessionId, 'handed back');
      return;
    }
    const turn = await claimNextTurn(this.db, sessionId);
    if (!turn) {
      await this.deps.sessions.refreshTurnState(sessionId);
      return; // paused, closed, preparing, or nothing left: the job was one too many
    }
    run.turnId = Number(turn.id);
    const turnLog = log.child({ turnId: run.turnId });
    const startedAt = performance.now();
    try {
      await this.#executor.run(run, turn, turnLog);
    } catch (e: unknown) {
      // A database error (or any other) must not leave the turn and the session "running".
      await recordFailedTurn({ db: this.db, sessions: this.deps.sessions, log: turnLog }, run.turnId, sessionId, e, () => this.#executor.settle(run, sessionId));
      this.deps.metrics?.turnEnded({ outcome: 'error', seconds: (performance.now() - startedAt) / 1000, claudeSessionId: null, costUsd: null, cumulativeCostUsd: null, modelUsage: undefined });
    }
  }
}

export type { InterruptReason, RunnerHooks };
