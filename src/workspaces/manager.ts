/**
 * WorkspaceManager: the one WorkspacePort implementation. It picks a provider
 * by project_type, stamps every record with its session id, turns provider
 * failures after a turn into a logged warning (a turn must not fail because a
 * diff could not be measured), and guards every removal: only records whose
 * folder sits exactly at WORKSPACES_DIR/<kind folder>/<name> are ever removed,
 * so a record edited through the API cannot aim cleanup at anything else.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { WorkspacesConfig } from '../config.ts';
import { AppError, badRequest } from '../lib/errors.ts';
import { Limiter } from '../lib/limiter.ts';
import type { Logger } from '../logger.ts';
import { PROJECT_TYPES, type ProjectType } from '../sessions/types.ts';
import { checkRequest } from './check.ts';
import { diffChanges, summarizeChanges, type ChangeSummary, type DiffResult } from './changes.ts';
import { CloneProvider } from './clone.ts';
import { E2bProvider } from './e2b.ts';
import { KeyedQueue, redactSecrets } from './git.ts';
import { LocalProvider } from './local.ts';
import { isInside, resolveWorkspaceInput } from './paths.ts';
import { CLEANUP_POLICIES, PREPARED_IN_BACKGROUND, type ClaudeSpawner, type CleanupPolicy, type WorkspacePort, type WorkspaceRecord, type WorkspaceRequest } from './port.ts';
import type { Provider, ProviderContext, ReleaseOutcome } from './provider.ts';
import { WorktreeProvider } from './worktree.ts';
import { diffTurn, snapshotsExist, summarizeTurn, turnStart, type TurnDiff } from './turn-changes.ts';

/** The folder below WORKSPACES_DIR each kind's owned workspaces live in. */
export const KIND_FOLDERS: Record<ProjectType, string> = { local: 'local', github: 'clones', worktree: 'worktrees', e2b: 'e2b' };

export class WorkspaceManager implements WorkspacePort {
  private readonly providers: Record<ProjectType, Provider | undefined>;
  /** Clones, fetches and diffs in flight (MAX_CONCURRENT_GIT_OPS); the rest wait their turn. */
  private readonly gitOps: Limiter;

  constructor(
    private readonly config: WorkspacesConfig,
    private readonly logger: Logger,
  ) {
    fs.mkdirSync(config.dir, { recursive: true });
    this.gitOps = new Limiter(config.maxConcurrentGitOps);
    const ctx: ProviderContext = { config, logger, queue: new KeyedQueue() };
    this.providers = {
      local: new LocalProvider(ctx),
      github: new CloneProvider(ctx),
      worktree: new WorktreeProvider(ctx),
      e2b: new E2bProvider(ctx),
    };
  }

  private provider(kind: ProjectType): Provider {
    const p = this.providers[kind];
    if (!p) throw badRequest('workspace_type_unavailable', `project_type ${kind} is not configured on this server`);
    return p;
  }

  /** Clones, fetches and diffs running now and waiting for a slot (MAX_CONCURRENT_GIT_OPS). */
  get gitOpsInFlight(): { running: number; waiting: number } {
    return { running: this.gitOps.running, waiting: this.gitOps.waiting };
  }

  async check(req: WorkspaceRequest): Promise<void> {
    this.cleanupOf(req);
    this.provider(req.project_type);
    await checkRequest(req, this.config);
  }

  private cleanupOf(req: WorkspaceRequest): CleanupPolicy {
    const cleanup = req.cleanup ?? this.config.cleanup;
    if (!CLEANUP_POLICIES.includes(cleanup)) throw badRequest('invalid_cleanup', `cleanup must be one of ${CLEANUP_POLICIES.join(', ')}`);
    return cleanup;
  }

  async prepare(req: WorkspaceRequest): Promise<WorkspaceRecord> {
    const cleanup = this.cleanupOf(req);
    const provider = this.provider(req.project_type);
    // Local folders take milliseconds and are made inside a request: they never wait behind clones.
    const heavy = PREPARED_IN_BACKGROUND.includes(req.project_type);
    const record = heavy ? await this.gitOps.run(() => provider.prepare(req, cleanup)) : await provider.prepare(req, cleanup);
    record.session_id = req.sessionId;
    this.logger.info({ sessionId: req.sessionId, kind: record.kind, path: record.path, owned: record.owned }, 'workspace prepared');
    return record;
  }

  async afterTurn(record: WorkspaceRecord): Promise<Record<string, unknown> | undefined> {
    try {
      await this.providers[record.kind]?.touch?.(record);
      const summary = await this.changes(record);
      return summary as unknown as Record<string, unknown>;
    } catch (e: unknown) {
      this.logger.warn({ sessionId: record.session_id, err: redactSecrets((e as Error).message) }, 'workspace changes could not be measured');
      return { error: (e as { code?: string }).code ?? 'changes_failed', measured_at: new Date().toISOString() };
    }
  }

  async turnChanges(record: WorkspaceRecord, changes: Record<string, unknown>): Promise<Record<string, unknown> | undefined> {
    const from = turnStart(record.changes, baseCommit(record));
    if (typeof changes.tree !== 'string' || !from) return undefined;
    try {
      const host = await this.provider(record.kind).gitHost(record);
      return host ? ((await summarizeTurn(host, from, changes.tree)) as unknown as Record<string, unknown>) : undefined;
    } catch (e: unknown) {
      this.logger.warn({ sessionId: record.session_id, err: redactSecrets((e as Error).message) }, 'a turn\'s changes could not be measured');
      return undefined;
    }
  }

  /** One turn's diff, between the trees its changes name; 410 turn_snapshot_gone once git pruned them. */
  async turnDiff(record: WorkspaceRecord, changes: { from: string; tree: string }): Promise<TurnDiff> {
    this.checkLocation(record);
    const host = await this.provider(record.kind).gitHost(record);
    if (!host) throw new AppError('workspace_gone', 'the workspace no longer exists (cleaned up)', 409);
    return this.gitOps.run(async () => {
      if (!(await snapshotsExist(host, changes.from, changes.tree))) {
        throw new AppError('turn_snapshot_gone', "the turn's snapshot is no longer in the repository (git gc pruned it); the session diff still works", 410);
      }
      return diffTurn(host, changes.from, changes.tree, this.config.diffMaxBytes);
    });
  }

  /**
   * Where git may run for a stored record: an owned folder in its WORKSPACES_DIR slot, or a folder
   * inside the allowed roots. Metadata can be edited through the API, so a record alone is no proof.
   */
  private checkLocation(record: WorkspaceRecord): void {
    if (record.kind === 'e2b') return; // the path lives inside the sandbox
    if (record.owned ? this.isOwnedFolder(record) : this.isAllowedFolder(record.path)) return;
    if (!fs.existsSync(record.path)) throw new AppError('workspace_gone', 'the workspace no longer exists (cleaned up)', 409);
    throw new AppError('workspace_not_allowed', 'the workspace record points outside WORKSPACES_DIR and ALLOWED_ROOTS', 409);
  }

  private isAllowedFolder(p: string): boolean {
    try {
      resolveWorkspaceInput(p, this.config);
      return true;
    } catch {
      return false;
    }
  }

  /** Files changed, lines added/removed, branch and commit since the workspace was made. */
  async changes(record: WorkspaceRecord): Promise<ChangeSummary> {
    this.checkLocation(record);
    const host = await this.provider(record.kind).gitHost(record);
    if (!host) throw new AppError('workspace_gone', 'the workspace no longer exists (cleaned up)', 409);
    return summarizeChanges(host, baseCommit(record));
  }

  /** The diff of the session's changes (committed and not) against the commit the workspace started from. */
  async diff(record: WorkspaceRecord): Promise<DiffResult> {
    this.checkLocation(record);
    const host = await this.provider(record.kind).gitHost(record);
    if (!host) throw new AppError('workspace_gone', 'the workspace no longer exists (cleaned up)', 409);
    return this.gitOps.run(() => diffChanges(host, baseCommit(record), this.config.diffMaxBytes));
  }

  async release(record: WorkspaceRecord): Promise<void> {
    await this.releaseWith(record, record.cleanup);
  }

  /** Applies `policy` now; never throws (failures are logged and reported as the outcome). */
  async releaseWith(record: WorkspaceRecord, policy: CleanupPolicy): Promise<ReleaseOutcome | { action: 'failed'; error: string }> {
    const log = { sessionId: record.session_id, kind: record.kind, policy };
    try {
      if (!record.owned) return { action: 'not_owned' };
      if (record.kind !== 'e2b' && !this.isOwnedFolder(record)) {
        this.logger.warn(log, 'workspace record points outside its WORKSPACES_DIR folder: left alone');
        return { action: 'not_owned' };
      }
      const outcome = await this.provider(record.kind).release(record, policy);
      this.logger.info({ ...log, outcome: outcome.action }, 'workspace released');
      return outcome;
    } catch (e: unknown) {
      const error = redactSecrets((e as Error).message);
      this.logger.error({ ...log, err: error }, 'workspace cleanup failed');
      return { action: 'failed', error };
    }
  }

  /** True when the record's folder is a direct child of WORKSPACES_DIR/<its kind's folder> (real paths). */
  isOwnedFolder(record: WorkspaceRecord): boolean {
    if (typeof record.path !== 'string' || !path.isAbsolute(record.path)) return false;
    let real: string;
    let parent: string;
    try {
      real = fs.realpathSync(record.path);
      parent = fs.realpathSync(path.join(this.config.dir, KIND_FOLDERS[record.kind]));
    } catch {
      return false;
    }
    return path.dirname(real) === parent && isInside(parent, real);
  }

  async diskUsage(record: WorkspaceRecord): Promise<number | undefined> {
    try {
      this.checkLocation(record);
      return await this.provider(record.kind).diskUsage(record);
    } catch {
      return undefined;
    }
  }

  spawner(record: WorkspaceRecord): ClaudeSpawner | undefined {
    return this.providers[record.kind]?.spawner?.(record);
  }
}

function baseCommit(record: WorkspaceRecord): string | null {
  return typeof record.base_commit === 'string' ? record.base_commit : null;
}

/** Reads a stored metadata.workspace back into a record; undefined when it is not one. */
export function asWorkspaceRecord(value: unknown): WorkspaceRecord | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const v = value as Record<string, unknown>;
  if (!PROJECT_TYPES.includes(v.kind as ProjectType)) return undefined;
  if (typeof v.path !== 'string' || typeof v.owned !== 'boolean') return undefined;
  if (!CLEANUP_POLICIES.includes(v.cleanup as CleanupPolicy)) return undefined;
  return v as WorkspaceRecord;
}
