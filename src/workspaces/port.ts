/**
 * The seam between the session lifecycle and workspaces. The runner only talks
 * to this interface: it asks for a workspace when a session is created, reports
 * after each turn, and releases it when the session completes.
 *
 * Glossary: a workspace is the folder (or sandbox) a session's Claude Code runs
 * in; its record is a JSON-safe description stored with the session
 * (metadata.workspace) so it survives restarts.
 */
import type { SpawnOptions, SpawnedProcess } from '@anthropic-ai/claude-agent-sdk';
import type { ProjectType } from '../sessions/types.ts';

export const CLEANUP_POLICIES = ['keep', 'delete', 'archive'] as const;
export type CleanupPolicy = (typeof CLEANUP_POLICIES)[number];

/** What a caller of POST /api/sessions asks for. */
export interface WorkspaceRequest {
  sessionId: string;
  project_type: ProjectType;
  /** local: an existing folder; omitted: a new empty folder under WORKSPACES_DIR. */
  project_path?: string | undefined;
  /** github: any git URL (https, ssh, file://). */
  repo_url?: string | undefined;
  ref?: string | undefined;
  /** worktree: the repository to branch from. */
  base_repo?: string | undefined;
  cleanup?: CleanupPolicy | undefined;
}

/** JSON-safe description of a prepared workspace; never contains credentials. */
export interface WorkspaceRecord {
  kind: ProjectType;
  /** Where Claude Code runs (inside the sandbox for e2b). */
  path: string;
  cleanup: CleanupPolicy;
  /** True when the orchestrator made the folder and may therefore remove it. */
  owned: boolean;
  [key: string]: unknown;
}

export type ClaudeSpawner = (options: SpawnOptions) => SpawnedProcess;

/**
 * Kinds whose workspace needs network or heavy git work (a clone, a fetch, a sandbox): their session is
 * stored first with metadata.workspace.state `preparing` and the workspace is made in the background.
 * Local folders are made inside the request (they take milliseconds).
 */
export const PREPARED_IN_BACKGROUND: readonly ProjectType[] = ['github', 'worktree', 'e2b'];

/** A workspace's state as shown in metadata.workspace.state (a record without one is ready). */
export const WORKSPACE_STATES = ['preparing', 'ready', 'failed'] as const;
export type WorkspaceState = (typeof WORKSPACE_STATES)[number];

export interface WorkspacePort {
  /** Checks the request as prepare() would, making nothing (AppError 400 on bad input). */
  check(req: WorkspaceRequest): Promise<void>;
  /** Validates the request (AppError 400 on bad input) and makes the workspace. */
  prepare(req: WorkspaceRequest): Promise<WorkspaceRecord>;
  /** Called after each turn; what it returns is stored as metadata.workspace.changes. */
  afterTurn(record: WorkspaceRecord): Promise<Record<string, unknown> | undefined>;
  /**
   * What the turn alone changed, from the record as the turn began (its previous scan) and what
   * afterTurn answered; stored as the turn's `changes`. Undefined when it cannot be told. Never throws.
   */
  turnChanges(record: WorkspaceRecord, changes: Record<string, unknown>): Promise<Record<string, unknown> | undefined>;
  /** Applies the cleanup policy when the session completes. Never throws. */
  release(record: WorkspaceRecord): Promise<void>;
  /** A custom way to start Claude Code for this workspace (e2b sandboxes), or undefined for a local child process. */
  spawner(record: WorkspaceRecord): ClaudeSpawner | undefined;
}
