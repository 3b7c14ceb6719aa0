/**
 * The runner: runs queued turns with Claude Code, one at a time per session and
 * at most MAX_CONCURRENT_RUNS at once, and controls them (pause, close, timeout,
 * shutdown). Turns live in the database, so a restart loses nothing: queued turns
 * run again and turns that were running are marked interrupted.
 */
import fs from 'node:fs';
import type { RunnerConfig } from '../config.ts';
import type { Database } from '../db/database.ts';
import { cancelClaimedTurn, claimTurn, claudeSessionCostBefore, finishTurn, listQueuedTurnIds, markTurnInit, requeueTurn, setTurnPid, type TurnRow } from '../db/queries/turns.ts';
import type { Logger } from '../logger.ts';
import type { SessionService } from '../sessions/service.ts';
import type { Session, Source } from '../sessions/types.ts';
import type { WorkspacePort, WorkspaceRecord } from '../workspaces/port.ts';
import { buildClaudeEnv, readEnvFile, secretValues, turnMarker } from './claude-env.ts';
import { loadsProjectSettings, parseRunOptions } from './options.ts';
import { Scheduler } from './scheduler.ts';
import { isolationWrapper, resolveIsolation, type IsolationStatus } from './isolation.ts';
import { killByEnv } from './spawn.ts';
import { watchStall } from './stall-watcher.ts';
import { StreamRecorder } from './stream-recorder.ts';
import { startTurn, type InterruptReason, type TurnEnd } from './turn.ts';
import { describeEnd, outcomeOf } from './outcome.ts';
import { recordFailedTurn, recoverTurns } from './recovery.ts';
import { replayPrompt } from './replay.ts';
import type { Attempt, Run, RunnerHooks } from './run.ts';

export interface RunnerDeps {
  database: Database;
  sessions: SessionService;
  workspaces: WorkspacePort;
  logger: Logger;
  config: RunnerConfig;
  resultMaxBytes: number;
  /** Test seams; absent in production. */
  hooks?: RunnerHooks | undefined;
}

export class Runner {
  readonly #scheduler: Scheduler;
  /** The turn each session is running (set-up, Claude Code and finishing), by session id. */
  readonly #runs = new Map<string, Run>();
  /** The last turn-state write of each session (see #syncTurnState). */
  readonly #stateWrites = new Map<string, Promise<void>>();
  readonly #fileEnv: Record<string, string>;
  /** Decided once: a host that cannot isolate does not start isolating halfway through. */
  readonly isolation: IsolationStatus;
  #starting: Promise<void> | undefined;
  #stopping: Promise<void> | undefined;
  #accepting = false;

  constructor(private readonly deps: RunnerDeps) {
    this.#scheduler = new Scheduler(deps.config.maxConcurrentRuns);
    this.#fileEnv = readEnvFile(deps.config.envFile);
    if (this.#fileEnv.IS_SANDBOX !== undefined && !deps.config.allowDangerousModes) {
      // IS_SANDBOX=1 tells Claude Code it may skip its safety checks (bypassPermissions as root).
      throw new Error('CLAUDE_ENV_FILE sets IS_SANDBOX, which is refused unless ALLOW_DANGEROUS_MODES=true');
    }
    this.isolation = resolveIsolation(deps.config.isolation ?? 'auto');
  }

  private get db() {
    return this.deps.database.db;
  }

  /** Recovers from the previous run (crash or not), then starts queued turns. Idempotent. */
  start(): Promise<void> {
    if (!this.#starting) {
      if (this.isolation.mode === 'off') this.deps.logger.warn({ isolation: this.isolation.mode, setting: this.isolation.setting }, this.isolation.detail);
      else this.deps.logger.info({ isolation: this.isolation.mode, setting: this.isolation.setting }, 'sessions run isolated (bwrap)');
    }
    this.#starting ??= recoverTurns({ db: this.db, sessions: this.deps.sessions, scheduler: this.#scheduler, logger: this.deps.logger }).then(() => {
      this.#accepting = true;
      this.#pump();
    });
    return this.#starting;
  }

  /** Schedules a turn already stored as queued (with its message, in one transaction). */
  async enqueue(sessionId: string, turnId: number): Promise<void> {
    this.#scheduler.add({ turnId, sessionId });
    await this.#syncTurnState(sessionId);
    this.#pump();
  }

  /** Schedules every queued turn of a session whose workspace has just become ready. */
  async enqueueStored(sessionId: string): Promise<void> {
    const ids = await listQueuedTurnIds(this.db, sessionId);
    for (const turnId of ids) this.#scheduler.add({ turnId, sessionId });
    if (ids.length > 0) await this.enqueue(sessionId, ids[0]!);
  }

  isTurnRunning(turnId: number): boolean {
    for (const run of this.#runs.values()) if (run.turnId === turnId) return true;
    return false;
  }

  queuePosition(sessionId: string): number | null {
    return this.#scheduler.position(sessionId);
  }

  /** Interrupts the running turn and holds queued ones until resume(). */
  pause(sessionId: string): void {
    this.#scheduler.hold(sessionId);
    this.#runs.get(sessionId)?.handle?.interrupt('paused');
  }

  resume(sessionId: string): void {
    this.#scheduler.release(sessionId);
    this.#pump();
  }

  /**
   * Interrupts the running turn (or stops it before Claude Code starts) and drops queued ones (the
   * caller cancels them in the database). Resolves when the turn is fully finished, after-turn
   * change scan included, so the caller may then release the workspace.
   */
  close(sessionId: string): Promise<void> {
    this.#scheduler.drop(sessionId);
    const run = this.#runs.get(sessionId);
    if (!run) return Promise.resolve();
    run.stop = 'completed'; // over a shutdown too: a closed session has nothing to run again
    run.handle?.interrupt('completed');
    return run.done;
  }

  /** Stops taking turns and interrupts running ones; they are recorded as interrupted (or queued again if they had not started). */
  stop(): Promise<void> {
    this.#stopping ??= (async () => {
      this.#accepting = false;
      for (const run of this.#runs.values()) {
        run.stop ??= 'shutdown';
        run.handle?.interrupt('shutdown');
      }
      while (this.#runs.size) await Promise.allSettled([...this.#runs.values()].map((r) => r.done));
    })();
    return this.#stopping;
  }

  #pump(): void {
    if (!this.#accepting) return;
    for (const t of this.#scheduler.take()) {
      const run: Run = { turnId: t.turnId, stop: undefined, handle: undefined, done: Promise.resolve(), settled: false };
      this.#runs.set(t.sessionId, run);
      run.done = this.#run(run, t.sessionId)
        .catch((e: unknown) => this.deps.logger.error({ err: e, sessionId: t.sessionId, turnId: t.turnId }, 'turn failed unexpectedly'))
        .finally(() => {
          this.#runs.delete(t.sessionId);
          this.#scheduler.finished(t.sessionId);
          this.#pump();
        });
    }
  }

  async #run(run: Run, sessionId: string): Promise<void> {
    const log = this.deps.logger.child({ sessionId, turnId: run.turnId });
    const turn = await claimTurn(this.db, run.turnId);
    if (!turn) return; // cancelled while waiting
    try {
      await this.#runClaimed(run, turn, log);
    } catch (e: unknown) {
      // A database error (or any other) must not leave the turn and the session "running".
      await recordFailedTurn({ db: this.db, sessions: this.deps.sessions, log }, run.turnId, sessionId, e, () => this.#settle(run, sessionId));
    }
  }

  async #runClaimed(run: Run, turn: TurnRow, log: Logger): Promise<void> {
    const { turnId } = run;
    const sessionId = turn.session_id;
    await this.deps.hooks?.claimed?.({ sessionId, turnId });
    const session = await this.deps.sessions.get(sessionId);
    // Closed after the turn was queued (here or by another server): it must not run.
    if (session.status === 'completed') run.stop = 'completed';
    await this.#syncTurnState(sessionId);
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
    this.#scheduler.add({ turnId: run.turnId, sessionId });
    await this.#settle(run, sessionId);
    log.info({ reason }, 'turn stopped before it started; queued again');
  }

  async #execute(a: Attempt, prompt: string, resume: string | undefined): Promise<TurnEnd> {
    await this.deps.hooks?.beforeStart?.({ sessionId: a.sessionId, turnId: a.turnId });
    // A close, shutdown or pause that arrived while the turn was set up: Claude Code is not started.
    // From the check on, nothing awaits until the handle is registered, so none can slip in between.
    const early = a.run.stop ?? (this.#scheduler.isHeld(a.sessionId) ? 'paused' : undefined);
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
    return this.#syncTurnState(sessionId);
  }

  /**
   * Writes the session's turn state (running, queued or idle) as it is when the write starts.
   * A session's writes go one at a time, so the last one stored is never stale: a message
   * queued while its last turn settles is not overwritten by that turn's "idle".
   */
  #syncTurnState(sessionId: string): Promise<void> {
    const write = (this.#stateWrites.get(sessionId) ?? Promise.resolve()).catch(() => {}).then(() => {
      const run = this.#runs.get(sessionId);
      const state = run && !run.settled ? 'running' : this.#scheduler.waitingFor(sessionId) > 0 ? 'queued' : 'idle';
      return this.deps.sessions.setTurnState(sessionId, state);
    });
    this.#stateWrites.set(sessionId, write);
    void write.catch(() => {}).finally(() => {
      if (this.#stateWrites.get(sessionId) === write) this.#stateWrites.delete(sessionId);
    });
    return write;
  }
}

/** Claude Code's answer to `--resume` of a session whose transcript it cannot find. */
const MISSING_TRANSCRIPT = /No conversation found with session ID/;

export type { InterruptReason, RunnerHooks };
