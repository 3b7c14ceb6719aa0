/**
 * The write side of sessions when the orchestrator runs Claude Code: creating a
 * session with a prompt (workspace, first message, first turn), continuing it
 * with a message, and pausing, resuming or closing it. Reads stay in
 * SessionService; this class only adds the runner and the workspaces.
 */
import { randomUUID } from 'node:crypto';
import type { AuditLog } from '../audit/audit-log.ts';
import { checkOwnPaths } from '../auth/owner-roots.ts';
import { checkAdminOption, checkMayChange, SYSTEM, type Principal } from '../auth/principal.ts';
import { describeBudget, type Budgets } from '../budgets/budgets.ts';
import type { Logger } from '../logger.ts';
import { AppError, badRequest, conflict } from '../lib/errors.ts';
import { titleFromPrompt } from '../lib/title.ts';
import type { SessionService, UpdateSessionInput } from '../sessions/service.ts';
import { workspaceState, type MessageWithTurnOptions } from '../sessions/transactions.ts';
import type { Direction, Message, ProjectType, Session, Source } from '../sessions/types.ts';
import { PREPARED_IN_BACKGROUND, type CleanupPolicy, type WorkspacePort, type WorkspaceRecord, type WorkspaceRequest } from '../workspaces/port.ts';
import type { PermissionMode } from './options.ts';
import type { Policy, SessionPolicy } from '../approvals/policy.ts';
import { markContinued } from '../db/queries/approvals.ts';
import type { TurnDispatch } from './dispatch.ts';

export interface CreateSessionCommand {
  /**
   * The new session's id, for callers that must find the same session when they retry (Slack
   * processes an event again after a crash); not accepted by the API (its body schema is strict).
   */
  id?: string | undefined;
  project_path?: string | undefined;
  project_type: ProjectType;
  claude_session_id?: string | undefined;
  source: Source;
  metadata: Record<string, unknown>;
  prompt?: string | undefined;
  /** Default: the prompt's first line. */
  title?: string | undefined;
  permission_mode?: PermissionMode | undefined;
  allowed_tools?: string[] | undefined;
  disallowed_tools?: string[] | undefined;
  model?: string | undefined;
  append_system_prompt?: string | undefined;
  max_turns?: number | undefined;
  timeout_s?: number | undefined;
  repo_url?: string | undefined;
  ref?: string | undefined;
  base_repo?: string | undefined;
  cleanup?: CleanupPolicy | undefined;
  trust_project_settings?: boolean | undefined;
  /** Close the session when the first turn ends (needs a prompt). */
  close_after?: boolean | undefined;
  /** The most the session may spend (USD). */
  budget_usd?: number | undefined;
  /** Set by the scheduler: the schedule whose run this session is. */
  schedule_id?: string | undefined;
  /** Approval policy: an admin's replaces the server's, anyone else's only narrows it. */
  policy?: Policy | undefined;
}

export interface PostMessageCommand {
  direction: Direction;
  content: string;
  source: Source;
  metadata: Record<string, unknown>;
  /** Run a turn for this user message; default: when the session is run by the orchestrator. */
  run?: boolean | undefined;
  /** Close the session when the turn this message starts ends (needs a message that runs a turn). */
  close_after?: boolean | undefined;
}

/** Where a command came from, for the audit log (an HTTP request's address and id; a Slack event's id). */
export interface CommandOrigin {
  address?: string | undefined;
  requestId?: string | undefined;
}

export interface TurnInfo {
  id: number;
  state: 'queued' | 'running';
  queue_position: number | null;
}

const RUN_OPTION_KEYS = ['permission_mode', 'allowed_tools', 'disallowed_tools', 'model', 'append_system_prompt', 'max_turns', 'timeout_s', 'trust_project_settings'] as const;

export class SessionCommands {
  /** Workspaces being prepared in the background. */
  readonly #preparing = new Set<Promise<void>>();

  constructor(
    private readonly deps: {
      sessions: SessionService;
      dispatch: TurnDispatch;
      workspaces: WorkspacePort;
      logger: Logger;
      defaults: { permission_mode: PermissionMode; timeout_s: number };
      /** Where every change made here is recorded (absent in unit tests). */
      audit?: AuditLog | undefined;
      /** This process's presence key (src/db/presence.ts): a preparation it leaves unfinished is failed by others once it is gone. */
      preparer?: number | undefined;
      /** ALLOW_DANGEROUS_MODES and ALLOW_PROJECT_SETTINGS. */
      policy?: { allowDangerousModes: boolean; allowProjectSettings: boolean; ownerRoots?: string[] | undefined } | undefined;
      /** Budgets: a request that would start a turn over budget is refused (409 budget_reached). */
      budgets?: Budgets | undefined;
    },
  ) {}

  /** Adds the queue position to a stored session that waits for a runner. */
  async decorate(s: Session): Promise<Session> {
    return (await this.decorateAll([s]))[0]!;
  }

  /** decorate() for a page of sessions, in one query. */
  async decorateAll(list: Session[]): Promise<Session[]> {
    const queued = list.filter((s) => s.turn_state === 'queued').map((s) => s.id);
    const [positions, pending] = await Promise.all([
      queued.length ? this.deps.dispatch.positions(queued) : new Map<string, number>(),
      this.deps.sessions.pendingApprovals(list.filter((s) => s.managed).map((s) => s.id)),
    ]);
    return list.map((s) => ({
      ...s,
      ...(s.turn_state === 'queued' ? { queue_position: positions.get(s.id) ?? null } : {}),
      pending_approvals: pending.get(s.id) ?? 0,
    }));
  }

  /**
   * Continues a session after a late approval decision: a user message (the decision, and the call
   * handed back when allowed) and its turn, stored with the request's continuation mark in one
   * transaction, so any number of processes sweeping the same decision queue one turn. A session
   * closed meanwhile is not continued (the mark is set to 0 so the sweep stops looking).
   */
  async continueAfterApproval(approval: { id: string; session_id: string; status: string }, prompt: string): Promise<void> {
    const session = await this.deps.sessions.get(approval.session_id);
    if (session.status === 'completed') {
      await this.deps.sessions.markApprovalContinued(approval.id, 0);
      return;
    }
    let stored: Awaited<ReturnType<SessionService['addMessageWithTurn']>>;
    try {
      stored = await this.deps.sessions.addMessageWithTurn(
        approval.session_id,
        { direction: 'user', content: prompt, source: 'api', metadata: { approval: { id: approval.id, status: approval.status } } },
        { also: async (tx, turnId) => {
          if (!(await markContinued(tx, approval.id, turnId))) throw new AlreadyContinued();
        } },
      );
    } catch (e: unknown) {
      if (e instanceof AlreadyContinued) return;
      if (e instanceof AppError && (e.code === 'session_completed' || e.code === 'workspace_failed')) {
        await this.deps.sessions.markApprovalContinued(approval.id, 0);
        return;
      }
      throw e;
    }
    this.deps.audit?.record({ actor: SYSTEM, action: 'message.sent', target: `session:${approval.session_id}`, detail: { message_id: stored.message.id, direction: 'user', source: 'api', approval_id: approval.id } });
    if (workspaceState(stored.session.metadata) !== 'preparing') await this.#schedule(approval.session_id, stored.turnId);
  }

  async create(actor: Principal, command: CreateSessionCommand, origin: CommandOrigin = {}): Promise<{ session: Session; turn: TurnInfo | undefined }> {
    const made = await this.#create(actor, command);
    this.deps.audit?.record({ actor, ...origin, action: 'session.created', target: `session:${made.session.id}`, detail: { project_type: made.session.project_type, source: made.session.source, prompt: command.prompt !== undefined } });
    return made;
  }

  async #create(actor: Principal, command: CreateSessionCommand): Promise<{ session: Session; turn: TurnInfo | undefined }> {
    if (actor.role !== 'admin' && actor.role !== 'user') throw new AppError('forbidden', `a ${actor.role} key may not create sessions`, 403);
    refuseClientWorkspace(command.metadata, 'body.metadata.workspace');
    if (command.permission_mode === 'bypassPermissions') checkAdminOption(actor, 'body.permission_mode', 'bypassPermissions');
    if (command.trust_project_settings) checkAdminOption(actor, 'body.trust_project_settings', "loading a repository's own .claude settings");
    // The session belongs to the caller (a hook token's sessions to its installing user). Only an
    // admin may widen the server's approval policy; anyone else's policy is applied on top of it.
    const policy: SessionPolicy | undefined = command.policy && { policy: command.policy, mode: actor.role === 'admin' ? 'replace' : 'narrow' };
    const c = { ...command, owner: actor.owner, policy };
    if (c.permission_mode === 'bypassPermissions' && !this.deps.policy?.allowDangerousModes) {
      throw badRequest('dangerous_mode_disabled', 'body.permission_mode: bypassPermissions is disabled on this server (ALLOW_DANGEROUS_MODES)');
    }
    if (c.trust_project_settings && !this.deps.policy?.allowProjectSettings) {
      throw badRequest('project_settings_disabled', "body.trust_project_settings: loading a repository's own .claude settings is disabled on this server (ALLOW_PROJECT_SETTINGS)");
    }
    // Without a prompt, a session only records where work happens, unless it asks for a workspace to be made.
    const wantsWorkspace = c.repo_url !== undefined || c.base_repo !== undefined || c.project_type === 'e2b';
    if (c.close_after && c.prompt === undefined) throw badRequest('invalid_request', 'body.close_after: needs a prompt (the session is closed when its turn ends)');
    if (c.prompt === undefined && !wantsWorkspace) {
      if (!c.project_path) throw badRequest('invalid_request', 'body.project_path: required when no prompt is given');
      const session = await this.deps.sessions.create({ ...c, project_path: c.project_path });
      return { session: await this.decorate(session), turn: undefined };
    }
    // Only a session that runs uses its folder; a record-only one just names it (a takeover checks it then).
    checkOwnPaths(actor, c, this.deps.policy?.ownerRoots ?? []);
    const id = c.id ?? randomUUID();
    const req: WorkspaceRequest = { sessionId: id, project_type: c.project_type, project_path: c.project_path, repo_url: c.repo_url, ref: c.ref, base_repo: c.base_repo, cleanup: c.cleanup };
    // Bad input is a 400 here, before anything is written, even when the workspace is made later.
    await this.deps.workspaces.check(req);
    const first = c.prompt === undefined ? undefined : { direction: 'user' as const, content: c.prompt, source: c.source };
    if (first) await this.#refuseOverOwnerBudget(c.owner);
    const row = { id, project_type: c.project_type, claude_session_id: c.claude_session_id, source: c.source, owner: c.owner, managed: true, run_options: this.#runOptions(c), policy: c.policy, title: c.title ?? titleFromPrompt(c.prompt), budget_usd: c.budget_usd, schedule_id: c.schedule_id };

    if (PREPARED_IN_BACKGROUND.includes(c.project_type)) {
      // A clone can take minutes: answer now with the workspace `preparing`; its turns wait for it.
      const created = await this.deps.sessions.createWithTurn({ ...row, project_path: '', metadata: { ...c.metadata, workspace: { kind: c.project_type, state: 'preparing', preparer: this.deps.preparer } } }, first, c.close_after ?? false);
      this.#background(this.#prepareInBackground(id, req));
      const turn = created.turnId === undefined ? undefined : { id: created.turnId, state: 'queued' as const, queue_position: null };
      return { session: await this.decorate(await this.deps.sessions.get(id)), turn };
    }
    const workspace = await this.deps.workspaces.prepare(req);
    let created: Awaited<ReturnType<SessionService['createWithTurn']>>;
    try {
      created = await this.deps.sessions.createWithTurn({ ...row, project_path: workspace.path, metadata: { ...c.metadata, workspace: { ...workspace, state: 'ready' } } }, first, c.close_after ?? false);
    } catch (e: unknown) {
      // Never used by anyone: remove it whatever the session's policy said.
      await this.deps.workspaces.release({ ...workspace, cleanup: 'delete' });
      throw e;
    }
    if (created.turnId === undefined) return { session: await this.decorate(created.session), turn: undefined };
    const turn = await this.#schedule(id, created.turnId);
    return { session: await this.decorate(await this.deps.sessions.get(id)), turn };
  }

  /**
   * Makes the workspace of a session stored as `preparing` (at most MAX_CONCURRENT_GIT_OPS at once,
   * in the manager), then lets its queued turns run; a failure ends as the session's error.
   */
  async #prepareInBackground(sessionId: string, req: WorkspaceRequest): Promise<void> {
    const log = this.deps.logger.child({ sessionId });
    let record: WorkspaceRecord;
    try {
      record = await this.deps.workspaces.prepare(req);
    } catch (e: unknown) {
      // Domain errors carry messages written for users (git's stderr already redacted); anything else stays in the log.
      const error = e instanceof AppError ? { code: e.code, message: e.message } : { code: 'workspace_failed', message: 'internal error; see the server log' };
      log.warn({ err: e, code: error.code }, 'workspace preparation failed');
      await this.deps.sessions.storeFailedWorkspace(sessionId, error, `The workspace could not be prepared (${error.code}): ${error.message}. Start a new session with a corrected request.`);
      return;
    }
    let stored: Session | undefined;
    try {
      stored = await this.deps.sessions.storePreparedWorkspace(sessionId, record);
    } catch (e: unknown) {
      await this.deps.workspaces.release({ ...record, cleanup: 'delete' });
      throw e;
    }
    if (!stored || stored.status === 'completed') {
      // Closed while its workspace was made (its close found nothing to release): apply the policy now.
      await this.deps.workspaces.release(record);
      return;
    }
    // Turns posted meanwhile were stored queued behind the preparation (the session row lock orders them).
    await this.deps.dispatch.enqueueStored(sessionId);
  }

  #background(p: Promise<void>): void {
    const tracked = p
      .catch((e: unknown) => this.deps.logger.error({ err: e }, 'workspace preparation could not be recorded'))
      .finally(() => this.#preparing.delete(tracked));
    this.#preparing.add(tracked);
  }

  /** Waits for workspaces being prepared (shutdown); a restart marks any still unfinished as failed. */
  async stop(): Promise<void> {
    while (this.#preparing.size > 0) await Promise.allSettled([...this.#preparing]);
  }

  async postMessage(actor: Principal, sessionId: string, m: PostMessageCommand, origin: CommandOrigin = {}): Promise<{ message: Message; turn: TurnInfo | undefined }> {
    const posted = await this.#postMessage(actor, sessionId, m);
    this.deps.audit?.record({ actor, ...origin, action: 'message.sent', target: `session:${sessionId}`, detail: { message_id: posted.message.id, direction: posted.message.direction, source: posted.message.source } });
    return posted;
  }

  async #postMessage(actor: Principal, sessionId: string, m: PostMessageCommand): Promise<{ message: Message; turn: TurnInfo | undefined }> {
    const session = await this.deps.sessions.get(sessionId);
    checkMayChange(actor, session.owner, sessionId);
    const run = m.direction === 'user' && (m.run ?? session.managed);
    if (!run) {
      if (m.close_after) throw badRequest('invalid_request', 'body.close_after: only a user message that runs a turn can close the session after it');
      // Marked, so start-up recovery never mistakes it for an acknowledged prompt that lost its turn.
      const metadata = m.direction === 'user' && session.managed ? { ...m.metadata, run: false } : m.metadata;
      return { message: await this.deps.sessions.addMessage(sessionId, { ...m, metadata }), turn: undefined };
    }
    refuseClientWorkspace(m.metadata, 'body.metadata.workspace');
    if (session.status === 'completed') throw conflict('session_completed', 'the session is completed; start a new session to run more turns');
    await this.#refuseOverBudget(session);
    let takeover: MessageWithTurnOptions['takeover'];
    if (!session.managed) {
      // Taking over a record-only (or hand-started) session: its folder must pass the same checks
      // as a new workspace (inside ALLOWED_ROOTS), or any stored path could be run in. Nothing is
      // stored until the message and its turn are (one transaction).
      checkOwnPaths(actor, { project_type: 'local', project_path: session.project_path }, this.deps.policy?.ownerRoots ?? []);
      const workspace = await this.deps.workspaces.prepare({ sessionId, project_type: 'local', project_path: session.project_path });
      takeover = { workspace: { ...workspace, state: 'ready' }, runOptions: this.#runOptions({}) };
    }
    const stored = await this.deps.sessions.addMessageWithTurn(sessionId, m, { takeover, closeAfter: m.close_after });
    if (workspaceState(stored.session.metadata) === 'preparing') {
      return { message: stored.message, turn: { id: stored.turnId, state: 'queued', queue_position: null } };
    }
    return { message: stored.message, turn: await this.#schedule(sessionId, stored.turnId) };
  }

  async update(actor: Principal, sessionId: string, input: UpdateSessionInput & { budget_usd?: number | null | undefined }, origin: CommandOrigin = {}): Promise<Session> {
    const current = await this.deps.sessions.get(sessionId);
    checkMayChange(actor, current.owner, sessionId);
    refuseClientWorkspace(input.metadata, 'body.metadata.workspace');
    const { budget_usd: budgetUsd, ...rest } = input;
    const patch: UpdateSessionInput = { ...rest };
    if (budgetUsd !== undefined) {
      const raised = await this.deps.sessions.setBudget(sessionId, { budgetUsd });
      this.deps.audit?.record({ actor, ...origin, action: 'session.budget_changed', target: `session:${sessionId}`, detail: { from: current.budget_usd, to: budgetUsd } });
      // A session the budget paused continues once no budget is used up (unless this request says otherwise).
      if (raised.budget_reached_at && !(await this.deps.budgets?.exceeded(raised))) {
        await this.deps.sessions.setBudget(sessionId, { reachedAt: null });
        if (raised.status === 'paused' && patch.status === undefined) patch.status = 'active';
      }
    }
    if (patch.status === 'active' && current.status !== 'active') await this.#resumeWithinBudget(sessionId);
    if (Object.keys(patch).length === 0) return await this.decorate(await this.deps.sessions.get(sessionId));
    const { session, previousStatus } = await this.deps.sessions.update(sessionId, patch);
    // A status set to the status it already has changes nothing: not an audit event.
    if (patch.status && patch.status !== previousStatus) {
      this.deps.audit?.record({ actor, ...origin, action: 'session.status_changed', target: `session:${sessionId}`, detail: { from: previousStatus, to: session.status } });
    }
    if (session.managed && patch.status && patch.status !== previousStatus) {
      // The queue hold follows the status: only a paused session is held (paused -> error releases it too).
      if (patch.status === 'paused') await this.deps.dispatch.pause(sessionId);
      else if (patch.status === 'completed') await this.#close(session);
      else await this.deps.dispatch.resume(sessionId);
    }
    return await this.decorate(await this.deps.sessions.get(sessionId));
  }

  /**
   * Closes a session whose turn asked for it (close_after), as the server: the same close as a
   * PATCH status completed (queued turns cancelled, workspace released by its policy), audited.
   * Called by the runner when the turn is recorded, and by the reconciler for one it missed; a
   * session already completed is left alone, so both calling is harmless.
   */
  async closeAfterTurn(sessionId: string, turnId: number): Promise<void> {
    if ((await this.deps.sessions.get(sessionId)).status === 'completed') return;
    const { session, previousStatus } = await this.deps.sessions.update(sessionId, { status: 'completed' });
    if (previousStatus === 'completed') return;
    this.deps.audit?.record({ actor: SYSTEM, action: 'session.status_changed', target: `session:${sessionId}`, detail: { from: previousStatus, to: 'completed', reason: 'close_after', turn_id: turnId } });
    if (session.managed) await this.#close(session);
  }

  async #close(session: Session): Promise<void> {
    await this.deps.sessions.cancelQueuedTurns(session.id);
    const closed = this.deps.dispatch.close(session.id);
    const workspace = session.metadata.workspace as WorkspaceRecord | undefined;
    // The interrupted turn finishes in the background; the workspace goes after it (its after-turn
    // change scan included: dispatch.close resolves only when the turn is fully finished).
    void closed
      .then(() => (workspace ? this.deps.workspaces.release(workspace) : undefined))
      .catch((e: unknown) => this.deps.logger.error({ err: e, sessionId: session.id }, 'closing the session failed'));
  }

  /** A session stopped by a budget may be set active again only once no budget is used up. */
  async #resumeWithinBudget(sessionId: string): Promise<void> {
    const s = await this.deps.sessions.get(sessionId);
    if (!s.budget_reached_at) return;
    const over = await this.deps.budgets?.exceeded(s);
    if (over) throw conflict('budget_reached', describeBudget(over, s.owner));
    await this.deps.sessions.setBudget(sessionId, { reachedAt: null });
  }

  /** New turns of a session stopped by a budget are refused until it is raised (or the day is over). */
  async #refuseOverBudget(session: Session): Promise<void> {
    const over = await this.deps.budgets?.exceeded(session);
    if (over) throw conflict('budget_reached', describeBudget(over, session.owner));
    if (session.budget_reached_at) throw conflict('budget_reached', 'the session was paused by its budget; set status active (PATCH /api/sessions/:id) to continue');
  }

  async #refuseOverOwnerBudget(owner: string): Promise<void> {
    const over = await this.deps.budgets?.ownerDayExceeded(owner);
    if (over) throw conflict('budget_reached', describeBudget(over, owner).replace(' The session is paused;', ' No turn is started;'));
  }

  async #schedule(sessionId: string, turnId: number): Promise<TurnInfo> {
    await this.deps.dispatch.enqueue(sessionId, turnId);
    const position = (await this.deps.dispatch.positions([sessionId])).get(sessionId) ?? null;
    return { id: turnId, state: 'queued', queue_position: position };
  }

  #runOptions(c: Partial<Record<(typeof RUN_OPTION_KEYS)[number], unknown>>): Record<string, unknown> {
    const out: Record<string, unknown> = { permission_mode: this.deps.defaults.permission_mode, timeout_s: this.deps.defaults.timeout_s };
    for (const k of RUN_OPTION_KEYS) if (c[k] !== undefined) out[k] = c[k];
    return out;
  }
}

/**
 * metadata.workspace is written by the server only. Claude Code runs in the recorded folder, the diff
 * route reads it and cleanup deletes it, so a client-written record would aim all three at another
 * session's clone (or, for e2b, at any sandbox of the account). Refused on every route that takes metadata.
 */
function refuseClientWorkspace(metadata: Record<string, unknown> | undefined, field: string): void {
  if (metadata && Object.hasOwn(metadata, 'workspace')) {
    throw badRequest('workspace_read_only', `${field}: set by the orchestrator; it cannot be given or changed`);
  }
}

/** The continuation was stored by another process (or an earlier pass): nothing to do. */
class AlreadyContinued extends Error {}
