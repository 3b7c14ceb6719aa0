/**
 * The write side of sessions when the orchestrator runs Claude Code: creating a
 * session with a prompt (workspace, first message, first turn), continuing it
 * with a message, and pausing, resuming or closing it. Reads stay in
 * SessionService; this class only adds the runner and the workspaces.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from '../logger.ts';
import { badRequest, conflict } from '../lib/errors.ts';
import type { SessionService, UpdateSessionInput } from '../sessions/service.ts';
import type { Direction, Message, ProjectType, Session, Source } from '../sessions/types.ts';
import type { CleanupPolicy, WorkspacePort, WorkspaceRecord } from '../workspaces/port.ts';
import type { PermissionMode } from './options.ts';
import type { Runner } from './runner.ts';

export interface CreateSessionCommand {
  project_path?: string | undefined;
  project_type: ProjectType;
  claude_session_id?: string | undefined;
  source: Source;
  metadata: Record<string, unknown>;
  prompt?: string | undefined;
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
}

export interface PostMessageCommand {
  direction: Direction;
  content: string;
  source: Source;
  metadata: Record<string, unknown>;
  /** Run a turn for this user message; default: when the session is run by the orchestrator. */
  run?: boolean | undefined;
}

export interface TurnInfo {
  id: number;
  state: 'queued' | 'running';
  queue_position: number | null;
}

const RUN_OPTION_KEYS = ['permission_mode', 'allowed_tools', 'disallowed_tools', 'model', 'append_system_prompt', 'max_turns', 'timeout_s'] as const;

export class SessionCommands {
  constructor(
    private readonly deps: { sessions: SessionService; runner: Runner; workspaces: WorkspacePort; logger: Logger; defaults: { permission_mode: PermissionMode; timeout_s: number } },
  ) {}

  /** Adds what only the runner knows (queue position) to a stored session. */
  decorate(s: Session): Session {
    return s.turn_state === 'queued' ? { ...s, queue_position: this.deps.runner.queuePosition(s.id) } : s;
  }

  async create(c: CreateSessionCommand): Promise<{ session: Session; turn: TurnInfo | undefined }> {
    // Without a prompt, a session only records where work happens, unless it asks for a workspace to be made.
    const wantsWorkspace = c.repo_url !== undefined || c.base_repo !== undefined || c.project_type === 'e2b';
    if (c.prompt === undefined && !wantsWorkspace) {
      if (!c.project_path) throw badRequest('invalid_request', 'body.project_path: required when no prompt is given');
      const session = await this.deps.sessions.create({ ...c, project_path: c.project_path });
      return { session: this.decorate(session), turn: undefined };
    }
    const id = randomUUID();
    const workspace = await this.deps.workspaces.prepare({
      sessionId: id,
      project_type: c.project_type,
      project_path: c.project_path,
      repo_url: c.repo_url,
      ref: c.ref,
      base_repo: c.base_repo,
      cleanup: c.cleanup,
    });
    let session: Session;
    try {
      session = await this.deps.sessions.create({
        id,
        project_path: workspace.path,
        project_type: c.project_type,
        claude_session_id: c.claude_session_id,
        source: c.source,
        metadata: { ...c.metadata, workspace },
        managed: true,
        run_options: this.#runOptions(c),
      });
    } catch (e: unknown) {
      // Never used by anyone: remove it whatever the session's policy said.
      await this.deps.workspaces.release({ ...workspace, cleanup: 'delete' });
      throw e;
    }
    if (c.prompt === undefined) return { session: this.decorate(session), turn: undefined };
    const message = await this.deps.sessions.addMessage(id, { direction: 'user', content: c.prompt, source: c.source });
    const turn = await this.#enqueue(session, message);
    return { session: this.decorate(await this.deps.sessions.get(id)), turn };
  }

  async postMessage(sessionId: string, m: PostMessageCommand): Promise<{ message: Message; turn: TurnInfo | undefined }> {
    let session = await this.deps.sessions.get(sessionId);
    const run = m.direction === 'user' && (m.run ?? session.managed);
    if (!run) return { message: await this.deps.sessions.addMessage(sessionId, m), turn: undefined };
    if (session.status === 'completed') throw conflict('session_completed', 'the session is completed; start a new session to run more turns');
    if (!session.managed) {
      // Taking over a record-only (or hand-started) session: its folder must pass the same checks
      // as a new workspace (inside ALLOWED_ROOTS), or any stored path could be run in.
      const workspace = await this.deps.workspaces.prepare({ sessionId, project_type: 'local', project_path: session.project_path });
      await this.deps.sessions.update(sessionId, { metadata: { workspace } });
      session = await this.deps.sessions.setManaged(sessionId, this.#runOptions({}));
    }
    if (session.status === 'error') session = (await this.deps.sessions.update(sessionId, { status: 'active' })).session;
    const message = await this.deps.sessions.addMessage(sessionId, m);
    return { message, turn: await this.#enqueue(session, message) };
  }

  async update(sessionId: string, patch: UpdateSessionInput): Promise<Session> {
    if (patch.metadata && 'workspace' in patch.metadata) {
      // Claude Code runs in the recorded workspace: letting a client rewrite it would bypass ALLOWED_ROOTS.
      throw badRequest('workspace_read_only', 'body.metadata.workspace: set by the orchestrator; it cannot be changed');
    }
    const { session, previousStatus } = await this.deps.sessions.update(sessionId, patch);
    if (session.managed && patch.status && patch.status !== previousStatus) {
      // The queue hold follows the status: only a paused session is held (paused -> error releases it too).
      if (patch.status === 'paused') this.deps.runner.pause(sessionId);
      else if (patch.status === 'completed') await this.#close(session);
      else this.deps.runner.resume(sessionId);
    }
    return this.decorate(await this.deps.sessions.get(sessionId));
  }

  async #close(session: Session): Promise<void> {
    await this.deps.sessions.cancelQueuedTurns(session.id);
    const closed = this.deps.runner.close(session.id);
    const workspace = session.metadata.workspace as WorkspaceRecord | undefined;
    // The interrupted turn finishes in the background; the workspace goes after it (its after-turn
    // change scan included: runner.close resolves only when the turn is fully finished).
    void closed
      .then(() => (workspace ? this.deps.workspaces.release(workspace) : undefined))
      .catch((e: unknown) => this.deps.logger.error({ err: e, sessionId: session.id }, 'closing the session failed'));
  }

  async #enqueue(session: Session, message: Message): Promise<TurnInfo> {
    const { turnId } = await this.deps.runner.enqueue(session, message.content, message.id, message.source);
    if (this.deps.runner.isTurnRunning(turnId)) return { id: turnId, state: 'running', queue_position: null };
    return { id: turnId, state: 'queued', queue_position: this.deps.runner.queuePosition(session.id) };
  }

  #runOptions(c: Partial<Record<(typeof RUN_OPTION_KEYS)[number], unknown>>): Record<string, unknown> {
    const out: Record<string, unknown> = { permission_mode: this.deps.defaults.permission_mode, timeout_s: this.deps.defaults.timeout_s };
    for (const k of RUN_OPTION_KEYS) if (c[k] !== undefined) out[k] = c[k];
    return out;
  }
}
