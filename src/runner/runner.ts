/**
 * The runner: takes turns from the job queue (src/queue/turn-queue.ts) and runs them with Claude
 * Code, at most `concurrency` at once in this process and never two of one session anywhere (the
 * queue's key_strict_fifo policy), and controls them (pause and close from any process through the
 * control channel, timeout, shutdown and drain). Turns live in the database, so a restart or a dead
 * runner loses nothing: what waits runs on another runner, what ran is marked interrupted.
 */
import fs from 'node:fs';
import { sql } from 'kysely';
import type { RunnerConfig } from '../config.ts';
import type { Database } from '../db/database.ts';
import { claimNextTurn, listRunningTurns, markTurnLaunched } from '../db/queries/turn-dispatch.ts';
import { cancelClaimedTurn, claudeSessionCostBefore, finishTurn, markTurnInit, requeueTurn, setTurnPid, type TurnRow } from '../db/queries/turns.ts';
import type { Logger } from '../logger.ts';
import type { TurnJob, TurnQueue } from '../queue/turn-queue.ts';
import type { SessionService } from '../sessions/service.ts';
import type { Session, Source } from '../sessions/types.ts';
import type { WorkspacePort, WorkspaceRecord } from '../workspaces/port.ts';
import { buildClaudeEnv, readEnvFile, secretValues, turnMarker } from './claude-env.ts';
import type { ControlChannel, ControlMessage } from './control.ts';
import { loadsProjectSettings, parseRunOptions } from './options.ts';
import { isolationWrapper, resolveIsolation, type IsolationStatus } from './isolation.ts';
import { Reconciler } from './reconcile.ts';
import { killByEnv } from './spawn.ts';
import { watchStall } from './stall-watcher.ts';
import { StreamRecorder } from './stream-recorder.ts';
import { startTurn, type InterruptReason, type TurnEnd } from './turn.ts';
import { describeEnd, outcomeOf } from './outcome.ts';
import { recordFailedTurn, recoverAlone, recoverShared, settleAbandonedTurn } from './recovery.ts';
import { replayPrompt } from './replay.ts';
import type { Attempt, Run, RunnerHooks } from './run.ts';

export interface RunnerDeps {
  database: Database;
  sessions: SessionService;
  workspaces: WorkspacePort;
  logger: Logger;
  config: RunnerConfig;
  resultMaxBytes: number;
  queue: TurnQueue;
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
    this.#reconciler = new Reconciler({ database: deps.database, sessions: deps.sessions, queue: deps.queue, logger: deps.logger, intervalMs: deps.reconcileMs ?? 30_000 });
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
    if (!this.#accepting || run.stop) return;
    const turn = await claimNextTurn(this.db, sessionId);
    if (!turn) {
      await this.deps.sessions.refreshTurnState(sessionId);
      return; // paused, closed, preparing, or nothing left: the job was one too many
    }
    run.turnId = Number(turn.id);
    const turnLog = log.child({ turnId: run.turnId });
    try {
      await this.#runClaimed(run, turn, turnLog);
    } catch (e: unknown) {
      // A database error (or any other) must not leave the turn and the session "running".
      await recordFailedTurn({ db: this.db, sessions: this.deps.sessions, log: turnLog }, run.turnId, sessionId, e, () => this.#settle(run, sessionId));
    }
  }

  async #runClaimed(run: Run, turn: TurnRow, log: Logger): Promise<void> {
    const { turnId } = run;
    const sessionId = turn.session_id;
    await this.deps.hooks?.claimed?.({ sessionId, turnId });
    const session = await this.deps.sessions.get(sessionId);
    // Closed after the turn was queued (here or by another server): it must not run.
    if (session.status === 'completed') run.stop = 'completed';
    else if (session.status === 'paused') run.stop ??= 'paused';
    await this.deps.sessions.refreshTurnState(sessionId);
    const options = parseRunOptions(session.run_options, { permission_mode: this.deps.config.defaultPermissionMode, timeout_s: this.deps.config.turnTimeoutS });
    const workspace = session.metadata.workspace as WorkspaceRecord | undefined;
    const cwd = workspace?.path ?? session.project_path;
    const env = buildClaudeEnv({ passEnv: this.deps.config.passEnv, fileEnv: this.#fileEnv, sessionId, turnId, bypassPermissions: options.permission_mode === 'bypassPermissions' });
    const secrets = secretValues(env, this.deps.config.secrets);
    let claudeSessionId = session.claude_session_id;
    const recorder = new StreamRecorder({
      secrets,
      sessions: this.deps.sessions,
      logger: log,
      sessionId,
      source: turn.source as Source,
      resultMaxBytes: this.deps.resultMaxBytes,
      onClaudeSessionId: async (id) => {
        await markTurnInit(this.db, turnId, id);
        if (id !== claudeSessionId) await this.deps.sessions.update(sessionId, { claude_session_id: id });
        claudeSessionId = id;
      },
    });

    let end: TurnEnd;
    const state = workspace?.state ?? 'ready';
    if (state !== 'ready') {
      // Turns of a session wait until its workspace is ready (SessionCommands); never run in a half-made one.
      end = { kind: 'failed', message: `The workspace is not ready (${String(state)}).` };
    } else if (!workspace && !fs.existsSync(cwd)) {
      end = { kind: 'failed', message: `The workspace folder ${cwd} does not exist.` };
    } else if (options.permission_mode === 'bypassPermissions' && !this.deps.config.allowDangerousModes) {
      // Stored while the server allowed it; the setting is checked again for every turn.
      end = { kind: 'failed', message: 'permission_mode bypassPermissions is disabled on this server (ALLOW_DANGEROUS_MODES); start a new session with another mode.' };
    } else {
      const attempt: Attempt = { run, turnId, sessionId, cwd, options, env, secrets, recorder, workspace, log };
      end = await this.#execute(attempt, turn.prompt, session.claude_session_id ?? undefined);
      if (session.claude_session_id && end.kind === 'failed' && MISSING_TRANSCRIPT.test(end.message)) {
        // Claude Code's transcript is gone (killed before writing it, or another machine's disk):
        // continue in a new Claude Code session that is handed the conversation we stored.
        log.warn({ claudeSessionId: session.claude_session_id }, 'transcript missing; starting a new Claude session with the stored conversation');
        await this.deps.sessions.addMessage(sessionId, {
          direction: 'system',
          content: 'Claude Code could not find the transcript of its earlier session, so a new Claude Code session was started and given the conversation so far.',
          source: 'api',
          metadata: { turn_id: turnId, reason: 'transcript_missing', previous_claude_session_id: session.claude_session_id },
        });
        end = await this.#execute(attempt, await replayPrompt(this.deps.sessions, sessionId, turn.message_id, turn.prompt), undefined);
      }
    }
    if (end.kind === 'interrupted' && !recorder.claudeSessionId && (run.stop === 'completed' || end.reason === 'shutdown' || end.reason === 'paused')) {
      // Stopped before Claude Code took the prompt in: nothing ran. A closed session's turn is
      // cancelled; one stopped by shutdown or pause waits to run again.
      await this.#stoppedBeforeStart(run, sessionId, log, end.reason);
      return;
    }
    if (end.kind !== 'result') recorder.closeOpenTools(end.kind === 'interrupted' ? `Interrupted (${end.reason}) before the tool finished.` : 'The turn failed before the tool finished.');
    await recorder.flush();
    await this.#finish(run, session, end, options.timeout_s, workspace, recorder.claudeSessionId ?? session.claude_session_id);
    log.info({ outcome: end.kind }, 'turn ended');
  }

  async #stoppedBeforeStart(run: Run, sessionId: string, log: Logger, reason: InterruptReason): Promise<void> {
    if (run.stop === 'completed') {
      await cancelClaimedTurn(this.db, run.turnId);
      await this.#settle(run, sessionId);
      log.info('session closed before the turn started; turn cancelled');
      return;
    }
    await requeueTurn(this.db, run.turnId);
    // Shut down or drained: another runner (or this one after a restart) takes it. Lost lease: the
    // job's retry does. Paused: resume() queues it again.
    if (reason === 'shutdown' && !run.leaseLost) await this.deps.queue.enqueue(sessionId, String(run.turnId));
    await this.#settle(run, sessionId);
    log.info({ reason }, 'turn stopped before it started; queued again');
  }

  async #execute(a: Attempt, prompt: string, resume: string | undefined): Promise<TurnEnd> {
    await this.deps.hooks?.beforeStart?.({ sessionId: a.sessionId, turnId: a.turnId });
    // A close, shutdown or pause that arrived while the turn was set up: Claude Code is not started.
    // From the check on, nothing awaits until the handle is registered, so none can slip in between.
    if (a.run.stop) return { kind: 'interrupted', reason: a.run.stop, result: undefined };
    // Committed first: from here on the turn may reach the model, so a lost runner's turn is never run again.
    await markTurnLaunched(this.db, a.turnId);
    const early = a.run.stop;
    if (early) return { kind: 'interrupted', reason: early, result: undefined };
    a.log.info({ cwd: a.cwd, resume: Boolean(resume) }, 'turn started');
    const stall = watchStall({ afterS: this.deps.config.turnStallWarnS ?? 0, sessions: this.deps.sessions, log: a.log, sessionId: a.sessionId, turnId: a.turnId, describe: () => a.recorder.waitingOn() });
    const handle = startTurn({
      prompt,
      cwd: a.cwd,
      resume,
      options: a.options,
      env: a.env,
      claudePath: this.deps.config.claudePath,
      spawner: a.workspace ? this.deps.workspaces.spawner(a.workspace) : undefined,
      wrap: isolationWrapper(this.isolation, [this.deps.config.workspacesDir, ...(this.deps.config.protectedDirs ?? [])]),
      recorder: a.recorder,
      secrets: a.secrets,
      projectSettings: loadsProjectSettings(a.workspace, a.options, this.deps.config.allowProjectSettings ?? false),
      onProcessStart: (pid) => void setTurnPid(this.db, a.turnId, pid).catch(() => {}),
      onActivity: () => stall.progress(),
    });
    a.run.handle = handle;
    const timer = setTimeout(() => handle.interrupt('timeout'), a.options.timeout_s * 1000);
    let end: TurnEnd;
    try {
      end = await handle.done;
    } finally {
      clearTimeout(timer);
      stall.stop();
      a.run.handle = undefined;
    }
    // Tool children that left Claude Code's process group (and survived a kill) carry the marker.
    if (end.kind !== 'result') killByEnv('CCO_TURN', turnMarker(a.sessionId, a.turnId));
    return end;
  }

  async #finish(run: Run, session: Session, end: TurnEnd, timeoutS: number, workspace: WorkspaceRecord | undefined, claudeSessionId: string | null): Promise<void> {
    const sessionId = session.id;
    const { turnId } = run;
    // Claude Code reports cost as a running total of its session (carried across resumes): this
    // turn's share is that total less what the same Claude session's earlier turns recorded.
    const cumulative = end.kind === 'failed' ? null : (end.result?.total_cost_usd ?? null);
    const before = cumulative !== null && claudeSessionId ? await claudeSessionCostBefore(this.db, sessionId, claudeSessionId, turnId) : 0;
    const outcome = outcomeOf(end, before);
    // The notice goes first: whoever sees the turn's final status also finds its explanation.
    const note = describeEnd(end, timeoutS);
    if (note) await this.deps.sessions.addMessage(sessionId, { direction: 'system', content: note, source: 'api', metadata: { turn_id: turnId, outcome: outcome.status } });
    await finishTurn(this.db, turnId, outcome);
    await this.deps.sessions.recordTurnTotals(sessionId, outcome);
    if (workspace) {
      await this.deps.hooks?.afterTurnScan?.({ sessionId, turnId });
      const changes = await this.deps.workspaces.afterTurn(workspace).catch(() => undefined);
      if (changes) await this.deps.sessions.update(sessionId, { metadata: { workspace: { ...workspace, changes } } }).catch(() => {});
    }
    // Only an active session turns to error: a paused one stays paused (and held) whatever a turn did.
    if (outcome.status === 'error') await this.deps.sessions.update(sessionId, { status: 'error' }, { onlyFrom: 'active' }).catch(() => {});
    await this.#settle(run, sessionId);
    await this.deps.hooks?.settled?.({ sessionId, turnId });
  }

  /** The turn is recorded: the session's turn state becomes idle, or queued if more wait. */
  #settle(run: Run, sessionId: string): Promise<void> {
    run.settled = true;
    return this.deps.sessions.refreshTurnState(sessionId);
  }
}

/** Claude Code's answer to `--resume` of a session whose transcript it cannot find. */
const MISSING_TRANSCRIPT = /No conversation found with session ID/;

export type { InterruptReason, RunnerHooks };
