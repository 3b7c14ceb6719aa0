/**
 * One claimed turn, from set-up to its last write: the workspace and run options, Claude Code
 * through the Agent SDK (resuming its session, or handed the stored conversation when the
 * transcript is gone), its stream recorded, and the outcome: turn row, totals, system notice,
 * after-turn change scan and the session's turn state. The Runner (runner.ts) takes the jobs and
 * hands each claimed turn here.
 */
import fs from 'node:fs';
import { describeBudget, type Budgets, type BudgetState } from '../budgets/budgets.ts';
import { RunningSpend } from '../budgets/running-spend.ts';
import type { RunnerConfig } from '../config.ts';
import type { Database } from '../db/database.ts';
import { markTurnLaunched } from '../db/queries/turn-dispatch.ts';
import { cancelClaimedTurn, claudeSessionCostBefore, finishTurn, markTurnInit, requeueTurn, setTurnPid, setTurnPolicy, type TurnRow } from '../db/queries/turns.ts';
import { setTurnChanges } from '../db/queries/turn-review.ts';
import type { Logger } from '../logger.ts';
import type { Metrics } from '../metrics/metrics.ts';
import type { TurnQueue } from '../queue/turn-queue.ts';
import type { SessionService } from '../sessions/service.ts';
import type { Session, Source } from '../sessions/types.ts';
import type { WorkspacePort, WorkspaceRecord } from '../workspaces/port.ts';
import { buildClaudeEnv, secretValues, turnMarker } from './claude-env.ts';
import { isolationWrapper, type IsolationStatus } from './isolation.ts';
import { loadsProjectSettings, parseRunOptions } from './options.ts';
import { describeEnd, outcomeOf } from './outcome.ts';
import { replayPrompt } from './replay.ts';
import type { Attempt, Run, RunnerHooks } from './run.ts';
import { killByEnv } from './spawn.ts';
import { watchStall } from './stall-watcher.ts';
import { StreamRecorder } from './stream-recorder.ts';
import { startTurn, type InterruptReason, type TurnEnd } from './turn.ts';
import type { ApprovalsConfig } from '../approvals/config.ts';
import { policyGate } from '../approvals/gate.ts';
import type { EffectivePolicy, ToolCall } from '../approvals/policy.ts';
import type { ApprovalService } from '../approvals/service.ts';

export interface TurnExecutorDeps {
  database: Database;
  sessions: SessionService;
  workspaces: WorkspacePort;
  logger: Logger;
  config: RunnerConfig;
  resultMaxBytes: number;
  queue: TurnQueue;
  /** CLAUDE_ENV_FILE, read once. */
  fileEnv: Record<string, string>;
  isolation: IsolationStatus;
  hooks?: RunnerHooks | undefined;
  /** Closes a session whose turn asked for it (close_after): SessionCommands.closeAfterTurn. */
  closeAfterTurn?: ((sessionId: string, turnId: number) => Promise<void>) | undefined;
  /** Budgets: a turn over budget does not start; one that passes it while running is stopped. */
  budgets?: Budgets | undefined;
  /** Counts ended turns, their duration and spend (src/metrics). */
  metrics?: Metrics | undefined;
  /** Approval requests and the server's policy (absent: no gate, Claude Code's permission mode alone). */
  approvals?: { service: ApprovalService; config: ApprovalsConfig } | undefined;
}

export class TurnExecutor {
  constructor(private readonly deps: TurnExecutorDeps) {}

  private get db() {
    return this.deps.database.db;
  }

  async run(run: Run, turn: TurnRow, log: Logger): Promise<void> {
    const { turnId } = run;
    const sessionId = turn.session_id;
    const startedAt = performance.now();
    await this.deps.hooks?.claimed?.({ sessionId, turnId });
    const session = await this.deps.sessions.get(sessionId);
    // Closed after the turn was queued (here or by another server): it must not run.
    if (session.status === 'completed') run.stop = 'completed';
    else if (session.status === 'paused') run.stop ??= 'paused';
    // Already over a budget: the session is paused by it and the turn waits, unrun, until it is raised.
    const over = run.stop ? undefined : await this.deps.budgets?.exceeded(session);
    if (over) {
      await this.#budgetReached(session, over, turnId);
      run.stop ??= 'paused';
    }
    // What this turn may spend: the running estimate is checked against the budget with the least
    // left, and the owner's day again as the owner's other running turns spend (running-spend.ts).
    const budgets = run.stop ? undefined : this.deps.budgets;
    const onPassed = (b: BudgetState) => {
      log.info({ budget: b.kind, limitUsd: b.limitUsd, spentUsd: b.spentUsd }, 'turn passed its budget: stopping it');
      run.handle?.interrupt('budget');
    };
    const spend = budgets && new RunningSpend({ budgets, turnId, owner: session.owner, room: await budgets.tightest(session), log, onPassed });
    await this.deps.sessions.refreshTurnState(sessionId);
    const options = parseRunOptions(session.run_options, { permission_mode: this.deps.config.defaultPermissionMode, timeout_s: this.deps.config.turnTimeoutS });
    const workspace = session.metadata.workspace as WorkspaceRecord | undefined;
    const cwd = workspace?.path ?? session.project_path;
    const env = buildClaudeEnv({ passEnv: this.deps.config.passEnv, fileEnv: this.deps.fileEnv, sessionId, turnId, bypassPermissions: options.permission_mode === 'bypassPermissions' });
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
      onCost: (usd) => spend?.note(usd),
    });

    let end: TurnEnd;
    let parkedOn: { id: string; call: ToolCall } | undefined;
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
      const gate = await this.#gate(session, turnId, cwd, workspace, options.permission_mode === 'plan', log, (id, call) => (parkedOn ??= { id, call }));
      const attempt: Attempt = { run, turnId, sessionId, cwd, options, env, secrets, recorder, workspace, log, gate };
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
      if (run.stop === 'completed') this.deps.metrics?.turnEnded({ outcome: 'cancelled', seconds: (performance.now() - startedAt) / 1000, claudeSessionId: null, costUsd: null, cumulativeCostUsd: null, modelUsage: undefined });
      return;
    }
    // A call waits for a person: the turn ended itself (continue: false) and is recorded as stopped for it.
    if (parkedOn && end.kind === 'result') end = { kind: 'interrupted', reason: 'approval', result: end.result };
    if (end.kind !== 'result') recorder.closeOpenTools(end.kind === 'interrupted' ? `Interrupted (${end.reason}) before the tool finished.` : 'The turn failed before the tool finished.');
    await recorder.flush();
    await spend?.settled();
    await this.#finish(run, session, end, options.timeout_s, workspace, recorder.claudeSessionId ?? session.claude_session_id, startedAt, recorder.cost.totalUsd);
    log.info({ outcome: end.kind }, 'turn ended');
    if (this.deps.budgets) {
      // Passed while running (stopped) or by its final cost: later turns wait until the budget is raised.
      const now = await this.deps.sessions.get(sessionId);
      const after = (await this.deps.budgets.exceeded(now)) ?? spend?.passed;
      if (after && !now.budget_reached_at) await this.#budgetReached(now, after, turnId).catch((e: unknown) => log.warn({ err: e }, 'could not mark the session as over budget'));
    }
    if (turn.close_after && this.deps.closeAfterTurn) {
      // After the turn is settled (change scan done), so the close releases the workspace only now.
      // A failure here is not the turn's: the reconciler closes the session on its next pass.
      await this.deps.closeAfterTurn(sessionId, turnId).catch((e: unknown) => log.warn({ err: e }, 'closing the session after its turn failed; the reconciler retries'));
    }
  }

  /** Marks the session as stopped by a budget: paused (its queued turns wait), with the reason told. */
  async #budgetReached(session: Session, b: BudgetState, turnId: number): Promise<void> {
    // The notice first: whoever sees the session paused by its budget also finds why.
    await this.deps.sessions.addMessage(session.id, {
      direction: 'system',
      content: describeBudget(b, session.owner),
      source: 'api',
      metadata: { turn_id: turnId, reason: 'budget', budget: b.kind, limit_usd: b.limitUsd, spent_usd: b.spentUsd },
    });
    await this.deps.sessions.setBudget(session.id, { reachedAt: new Date() });
    await this.deps.sessions.update(session.id, { status: 'paused' }, { onlyFrom: 'active' });
  }

  async #stoppedBeforeStart(run: Run, sessionId: string, log: Logger, reason: InterruptReason): Promise<void> {
    if (run.stop === 'completed') {
      await cancelClaimedTurn(this.db, run.turnId);
      await this.settle(run, sessionId);
      log.info('session closed before the turn started; turn cancelled');
      return;
    }
    await requeueTurn(this.db, run.turnId);
    // Shut down or drained: another runner (or this one after a restart) takes it. Lost lease: the
    // job's retry does. Paused: resume() queues it again.
    if (reason === 'shutdown' && !run.leaseLost) await this.deps.queue.enqueue(sessionId, String(run.turnId));
    await this.settle(run, sessionId);
    log.info({ reason }, 'turn stopped before it started; queued again');
  }

  async #execute(a: Attempt, prompt: string, resume: string | undefined): Promise<TurnEnd> {
    await this.deps.hooks?.beforeStart?.({ sessionId: a.sessionId, turnId: a.turnId });
    // A close, shutdown or pause that arrived while the turn was set up: Claude Code is not started.
    // From the check on, nothing awaits until the handle is registered, so none can slip in between.
    if (a.run.stop) return { kind: 'interrupted', reason: a.run.stop, result: undefined };
    // Committed first: from here on the turn may reach the model, so a lost runner's turn is never run again.
    // The same statement reads the session's status: a pause or close stored by another process whose
    // notification has not arrived yet still stops the turn here, before Claude Code starts.
    const status = await markTurnLaunched(this.db, a.turnId);
    if (status === 'completed') a.run.stop = 'completed';
    else if (status === 'paused') a.run.stop ??= 'paused';
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
      nice: this.deps.config.claudeNice,
      wrap: isolationWrapper(this.deps.isolation, [this.deps.config.workspacesDir, ...(this.deps.config.protectedDirs ?? [])]),
      recorder: a.recorder,
      secrets: a.secrets,
      projectSettings: loadsProjectSettings(a.workspace, a.options, this.deps.config.allowProjectSettings ?? false),
      onProcessStart: (pid) => void setTurnPid(this.db, a.turnId, pid).catch(() => {}),
      onActivity: () => stall.progress(),
      gate: a.gate && { hook: a.gate(() => stall.progress()), timeoutS: Math.ceil(this.deps.approvals!.config.waitMs / 1000) + 30 },
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

  async #finish(run: Run, session: Session, end: TurnEnd, timeoutS: number, workspace: WorkspaceRecord | undefined, claudeSessionId: string | null, startedAt: number, estimateUsd = 0): Promise<void> {
    const sessionId = session.id;
    const { turnId } = run;
    // Claude Code reports cost as a running total of its session (carried across resumes): this
    // turn's share is that total less what the same Claude session's earlier turns recorded.
    const cumulative = end.kind === 'failed' ? null : (end.result?.total_cost_usd ?? null);
    const before = cumulative !== null && claudeSessionId ? await claudeSessionCostBefore(this.db, sessionId, claudeSessionId, turnId) : 0;
    const outcome = outcomeOf(end, before);
    // Stopped before Claude Code reported its cost (an interrupt): what it spent is still counted (budgets, usage).
    if (outcome.cost_usd === null && estimateUsd > 0 && end.kind !== 'failed') outcome.cost_usd = estimateUsd;
    // The notice goes first: whoever sees the turn's final status also finds its explanation.
    const note = describeEnd(end, timeoutS);
    if (note) await this.deps.sessions.addMessage(sessionId, { direction: 'system', content: note, source: 'api', metadata: { turn_id: turnId, outcome: outcome.status } });
    await finishTurn(this.db, turnId, outcome);
    await this.deps.sessions.recordTurnTotals(sessionId, outcome);
    this.deps.metrics?.turnEnded({
      outcome: outcome.status,
      seconds: (performance.now() - startedAt) / 1000,
      claudeSessionId,
      costUsd: outcome.cost_usd,
      cumulativeCostUsd: cumulative,
      modelUsage: end.kind === 'failed' ? undefined : end.result?.model_usage,
    });
    if (workspace) {
      await this.deps.hooks?.afterTurnScan?.({ sessionId, turnId });
      const changes = await this.deps.workspaces.afterTurn(workspace).catch(() => undefined);
      if (changes) await this.deps.sessions.update(sessionId, { metadata: { workspace: { ...workspace, changes } } }).catch(() => {});
      // The turn's own share, against the scan before it (the record as the turn began).
      const own = changes && (await this.deps.workspaces.turnChanges(workspace, changes).catch(() => undefined));
      if (own) await setTurnChanges(this.db, turnId, own).catch(() => {});
    }
    // Only an active session turns to error: a paused one stays paused (and held) whatever a turn did.
    if (outcome.status === 'error') await this.deps.sessions.update(sessionId, { status: 'error' }, { onlyFrom: 'active' }).catch(() => {});
    await this.settle(run, sessionId);
    await this.deps.hooks?.settled?.({ sessionId, turnId });
  }

  /**
   * The approval gate of a turn (src/approvals/gate.ts) under the server's policy and the session's,
   * stored with the turn; undefined without approvals.
   */
  async #gate(session: Session, turnId: number, cwd: string, workspace: WorkspaceRecord | undefined, planMode: boolean, log: Logger, onParked: (id: string, call: ToolCall) => void): Promise<Attempt['gate']> {
    const a = this.deps.approvals;
    if (!a) return undefined;
    const policy: EffectivePolicy = { server: a.config.policy, session: session.policy ?? undefined };
    await setTurnPolicy(this.db, turnId, policy);
    // Nothing to gate (no rules, default allow, no session policy): no hook, no control round trip per call.
    if (!policy.session && policy.server.default === 'allow' && policy.server.rules.length === 0) return undefined;
    const where = [workspace?.kind ?? session.project_type, cwd, workspace?.repo_url, workspace?.base_repo_url].filter((w): w is string => typeof w === 'string' && w !== '');
    return (onActivity) =>
      policyGate({ approvals: a.service, policy, ctx: { cwd, workspace: where }, sessionId: session.id, turnId, waitMs: a.config.waitMs, planMode, log, onParked, onActivity });
  }

  /** The turn is recorded: the session's turn state becomes idle, or queued if more wait. */
  settle(run: Run, sessionId: string): Promise<void> {
    run.settled = true;
    return this.deps.sessions.refreshTurnState(sessionId);
  }
}

/** Claude Code's answer to `--resume` of a session whose transcript it cannot find. */
const MISSING_TRANSCRIPT = /No conversation found with session ID/;
