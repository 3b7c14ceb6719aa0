/**
 * The runner: runs queued turns with Claude Code, one at a time per session and
 * at most MAX_CONCURRENT_RUNS at once, and controls them (pause, close, timeout,
 * shutdown). Turns live in the database, so a restart loses nothing: queued turns
 * run again and turns that were running are marked interrupted.
 */
import fs from 'node:fs';
import type { RunnerConfig } from '../config.ts';
import type { Database } from '../db/database.ts';
import { claimTurn, finishTurn, insertTurn, listOpenTurns, listPausedManagedSessionIds, markTurnInit, requeueTurn, resetTurnStates, setTurnPid } from '../db/queries/turns.ts';
import type { Logger } from '../logger.ts';
import type { SessionService } from '../sessions/service.ts';
import type { Message, Session, Source } from '../sessions/types.ts';
import type { WorkspacePort, WorkspaceRecord } from '../workspaces/port.ts';
import { buildClaudeEnv, readEnvFile, secretValues, turnMarker } from './claude-env.ts';
import { parseRunOptions, type RunOptions } from './options.ts';
import { Scheduler } from './scheduler.ts';
import { killByEnv } from './spawn.ts';
import { StreamRecorder } from './stream-recorder.ts';
import { startTurn, type InterruptReason, type TurnEnd, type TurnHandle } from './turn.ts';
import { describeEnd, emptyOutcome, outcomeOf } from './outcome.ts';

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

/**
 * Awaited at fixed points of a turn so a test can force an interleaving (a close
 * during set-up, a release during the change scan). Production passes none.
 */
export interface RunnerHooks {
  /** The turn was claimed (running in the database); nothing else is done yet. */
  claimed?(t: { sessionId: string; turnId: number }): Promise<void>;
  /** Everything is set up; Claude Code is about to start. */
  beforeStart?(t: { sessionId: string; turnId: number }): Promise<void>;
  /** The turn is recorded; the workspace's after-turn change scan is about to run. */
  afterTurnScan?(t: { sessionId: string; turnId: number }): Promise<void>;
}

export class Runner {
  readonly #scheduler: Scheduler;
  readonly #active = new Map<string, TurnHandle>();
  readonly #runningTurns = new Set<number>();
  readonly #closing = new Set<string>();
  readonly #fileEnv: Record<string, string>;
  #starting: Promise<void> | undefined;
  #stopping: Promise<void> | undefined;
  #accepting = false;

  constructor(private readonly deps: RunnerDeps) {
    this.#scheduler = new Scheduler(deps.config.maxConcurrentRuns);
    this.#fileEnv = readEnvFile(deps.config.envFile);
  }

  private get db() {
    return this.deps.database.db;
  }

  /** Recovers from the previous run (crash or not), then starts queued turns. Idempotent. */
  start(): Promise<void> {
    this.#starting ??= this.#recover().then(() => {
      this.#accepting = true;
      this.#pump();
    });
    return this.#starting;
  }

  async #recover(): Promise<void> {
    for (const t of await listOpenTurns(this.db)) {
      if (t.status === 'running') {
        // Its process died with the old server (pdeathsig); its tools may not have. They are
        // found by the marker in their environment, never by the stored pid, which may be reused.
        killByEnv('CCO_TURN', turnMarker(t.session_id, t.id));
        if (!t.init_at) {
          // Claude Code never reported the turn's start, so its prompt is not in the
          // transcript and nothing ran: run the turn again rather than lose the prompt.
          await requeueTurn(this.db, t.id);
          this.#scheduler.add({ turnId: t.id, sessionId: t.session_id });
          continue;
        }
        await this.deps.sessions.addMessage(t.session_id, {
          direction: 'system',
          content: 'The turn was interrupted because the server stopped while it ran. Send a message to continue.',
          source: 'api',
          metadata: { turn_id: t.id, reason: 'server_restart' },
        });
        const outcome = emptyOutcome('interrupted', 'server stopped while the turn ran');
        await finishTurn(this.db, t.id, outcome);
        await this.deps.sessions.recordTurnTotals(t.session_id, outcome, null);
      } else {
        this.#scheduler.add({ turnId: t.id, sessionId: t.session_id });
      }
    }
    for (const id of await listPausedManagedSessionIds(this.db)) this.#scheduler.hold(id);
    await resetTurnStates(this.db);
  }

  /** Queues a turn for the prompt already stored as message `messageId`. */
  async enqueue(session: Session, prompt: string, messageId: number | null, source: Source): Promise<{ turnId: number }> {
    const turn = await insertTurn(this.db, { session_id: session.id, message_id: messageId, prompt, source });
    this.#scheduler.add({ turnId: turn.id, sessionId: session.id });
    if (!this.#scheduler.isRunning(session.id)) await this.deps.sessions.setTurnState(session.id, 'queued');
    this.#pump();
    return { turnId: turn.id };
  }

  isTurnRunning(turnId: number): boolean {
    return this.#runningTurns.has(turnId);
  }

  queuePosition(sessionId: string): number | null {
    return this.#scheduler.position(sessionId);
  }

  /** Interrupts the running turn and holds queued ones until resume(). */
  pause(sessionId: string): void {
    this.#scheduler.hold(sessionId);
    this.#active.get(sessionId)?.interrupt('paused');
  }

  resume(sessionId: string): void {
    this.#scheduler.release(sessionId);
    this.#pump();
  }

  /** Interrupts the running turn and drops queued ones (the caller cancels them in the database). */
  close(sessionId: string): Promise<void> {
    this.#closing.add(sessionId);
    this.#scheduler.drop(sessionId);
    const handle = this.#active.get(sessionId);
    handle?.interrupt('completed');
    const done = handle ? handle.done.then(() => undefined) : Promise.resolve();
    return done.finally(() => this.#closing.delete(sessionId));
  }

  /** Stops taking turns and interrupts running ones; they are recorded as interrupted. */
  stop(): Promise<void> {
    this.#stopping ??= (async () => {
      this.#accepting = false;
      const running = [...this.#active.values()];
      for (const h of running) h.interrupt('shutdown');
      await Promise.allSettled(running.map((h) => h.done));
      await this.#settled();
    })();
    return this.#stopping;
  }

  #inflight = new Set<Promise<void>>();
  async #settled(): Promise<void> {
    while (this.#inflight.size) await Promise.allSettled([...this.#inflight]);
  }

  #pump(): void {
    if (!this.#accepting) return;
    for (const t of this.#scheduler.take()) {
      this.#runningTurns.add(t.turnId);
      const p = this.#run(t.turnId, t.sessionId)
        .catch((e: unknown) => this.deps.logger.error({ err: e, sessionId: t.sessionId, turnId: t.turnId }, 'turn failed unexpectedly'))
        .finally(() => {
          this.#inflight.delete(p);
          this.#runningTurns.delete(t.turnId);
          this.#scheduler.finished(t.sessionId);
          this.#pump();
        });
      this.#inflight.add(p);
    }
  }

  async #run(turnId: number, sessionId: string): Promise<void> {
    const log = this.deps.logger.child({ sessionId, turnId });
    const turn = await claimTurn(this.db, turnId);
    if (!turn) return; // cancelled while waiting
    await this.deps.hooks?.claimed?.({ sessionId, turnId });
    const session = await this.deps.sessions.get(sessionId);
    await this.deps.sessions.setTurnState(sessionId, 'running');
    const options = parseRunOptions(session.run_options, { permission_mode: this.deps.config.defaultPermissionMode, timeout_s: this.deps.config.turnTimeoutS });
    const workspace = session.metadata.workspace as WorkspaceRecord | undefined;
    const cwd = workspace?.path ?? session.project_path;
    const env = buildClaudeEnv({ passEnv: this.deps.config.passEnv, fileEnv: this.#fileEnv, sessionId, turnId, bypassPermissions: options.permission_mode === 'bypassPermissions' });
    const secrets = secretValues(env);
    const recorder = new StreamRecorder({
      secrets,
      sessions: this.deps.sessions,
      logger: log,
      sessionId,
      source: turn.source as Source,
      resultMaxBytes: this.deps.resultMaxBytes,
      onClaudeSessionId: async (id) => {
        await markTurnInit(this.db, turnId);
        if (id !== session.claude_session_id) await this.deps.sessions.update(sessionId, { claude_session_id: id });
      },
    });

    let end: TurnEnd;
    if (!workspace && !fs.existsSync(cwd)) {
      end = { kind: 'failed', message: `The workspace folder ${cwd} does not exist.` };
    } else {
      const attempt = { turnId, sessionId, cwd, options, env, secrets, recorder, workspace, log };
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
        end = await this.#execute(attempt, await this.#replayPrompt(sessionId, turn.message_id, turn.prompt), undefined);
      }
    }
    if (end.kind === 'interrupted' && (end.reason === 'shutdown' || end.reason === 'paused') && !recorder.claudeSessionId) {
      // Stopped before Claude Code took the prompt in: nothing ran, so the turn waits to run again.
      await requeueTurn(this.db, turnId);
      this.#scheduler.add({ turnId, sessionId });
      await this.deps.sessions.setTurnState(sessionId, 'queued');
      log.info({ reason: end.reason }, 'turn stopped before it started; queued again');
      return;
    }
    if (end.kind !== 'result') recorder.closeOpenTools(end.kind === 'interrupted' ? `Interrupted (${end.reason}) before the tool finished.` : 'The turn failed before the tool finished.');
    await recorder.flush();
    await this.#finish(turnId, session, end, options.timeout_s, workspace);
    log.info({ outcome: end.kind }, 'turn ended');
  }

  async #execute(
    a: { turnId: number; sessionId: string; cwd: string; options: RunOptions; env: Record<string, string>; secrets: string[]; recorder: StreamRecorder; workspace: WorkspaceRecord | undefined; log: Logger },
    prompt: string,
    resume: string | undefined,
  ): Promise<TurnEnd> {
    await this.deps.hooks?.beforeStart?.({ sessionId: a.sessionId, turnId: a.turnId });
    a.log.info({ cwd: a.cwd, resume: Boolean(resume) }, 'turn started');
    const handle = startTurn({
      prompt,
      cwd: a.cwd,
      resume,
      options: a.options,
      env: a.env,
      claudePath: this.deps.config.claudePath,
      spawner: a.workspace ? this.deps.workspaces.spawner(a.workspace) : undefined,
      recorder: a.recorder,
      secrets: a.secrets,
      onProcessStart: (pid) => void setTurnPid(this.db, a.turnId, pid).catch(() => {}),
    });
    this.#active.set(a.sessionId, handle);
    // A pause or close that arrived while the turn was being set up applies now.
    if (this.#closing.has(a.sessionId)) handle.interrupt('completed');
    else if (this.#scheduler.isHeld(a.sessionId)) handle.interrupt('paused');
    const timer = setTimeout(() => handle.interrupt('timeout'), a.options.timeout_s * 1000);
    let end: TurnEnd;
    try {
      end = await handle.done;
    } finally {
      clearTimeout(timer);
      this.#active.delete(a.sessionId);
    }
    // Tool children that left Claude Code's process group (and survived a kill) carry the marker.
    if (end.kind !== 'result') killByEnv('CCO_TURN', turnMarker(a.sessionId, a.turnId));
    return end;
  }

  /** The prompt for a new Claude session that must carry on a conversation it has not seen. */
  async #replayPrompt(sessionId: string, beforeMessageId: number | null, prompt: string): Promise<string> {
    const earlier: Message[] = [];
    let cursor: string | undefined;
    do {
      const page = await this.deps.sessions.listMessages(sessionId, 200, cursor);
      earlier.push(...page.data.filter((m) => m.direction !== 'system' && (beforeMessageId === null || m.id < beforeMessageId)));
      cursor = page.next_cursor ?? undefined;
    } while (cursor && earlier.length < 5000);
    const lines = earlier.slice(-REPLAY_MESSAGES).map((m) => `${m.direction === 'user' ? 'User' : 'Assistant'}: ${m.content.slice(0, 4000)}`);
    return [
      'This conversation continues an earlier Claude Code session whose transcript was lost. The conversation so far:',
      '<conversation>',
      ...lines,
      '</conversation>',
      '',
      prompt,
    ].join('\n');
  }

  async #finish(turnId: number, session: Session, end: TurnEnd, timeoutS: number, workspace: WorkspaceRecord | undefined): Promise<void> {
    const sessionId = session.id;
    const outcome = outcomeOf(end, session.totals.cost_usd);
    // The notice goes first: whoever sees the turn's final status also finds its explanation.
    const note = describeEnd(end, timeoutS);
    if (note) await this.deps.sessions.addMessage(sessionId, { direction: 'system', content: note, source: 'api', metadata: { turn_id: turnId, outcome: outcome.status } });
    await finishTurn(this.db, turnId, outcome);
    await this.deps.sessions.recordTurnTotals(sessionId, outcome, end.kind === 'failed' ? null : (end.result?.total_cost_usd ?? null));
    if (workspace) {
      await this.deps.hooks?.afterTurnScan?.({ sessionId, turnId });
      const changes = await this.deps.workspaces.afterTurn(workspace).catch(() => undefined);
      if (changes) await this.deps.sessions.update(sessionId, { metadata: { workspace: { ...workspace, changes } } }).catch(() => {});
    }
    const failed = outcome.status === 'error';
    const current = await this.deps.sessions.get(sessionId);
    if (failed && current.status === 'active') await this.deps.sessions.update(sessionId, { status: 'error' }).catch(() => {});
    await this.deps.sessions.setTurnState(sessionId, this.#scheduler.waitingFor(sessionId) > 0 ? 'queued' : 'idle');
  }
}

/** Claude Code's answer to `--resume` of a session whose transcript it cannot find. */
const MISSING_TRANSCRIPT = /No conversation found with session ID/;
const REPLAY_MESSAGES = 50;

export type { InterruptReason };
