/**
 * What every workspace kind implements behind WorkspaceManager, and the helpers
 * they share for records and host folders.
 */
import type { WorkspacesConfig } from '../config.ts';
import type { Logger } from '../logger.ts';
import type { GitHost } from './changes.ts';
import type { KeyedQueue } from './git.ts';
import type { ClaudeSpawner, CleanupPolicy, WorkspaceRecord, WorkspaceRequest } from './port.ts';

export interface ProviderContext {
  config: WorkspacesConfig;
  logger: Logger;
  /** Serializes git work per base repository (keyed by its real path). */
  queue: KeyedQueue;
}

/** What release did, for the log and for `cco workspaces gc`. */
export type ReleaseOutcome =
  | { action: 'kept'; path?: string }
  | { action: 'deleted' }
  | { action: 'archived'; archive: string }
  | { action: 'not_owned' }
  | { action: 'missing' };

export interface Provider {
  prepare(req: WorkspaceRequest, cleanup: CleanupPolicy): Promise<WorkspaceRecord>;
  /** Where git runs for change summaries and diffs; undefined when the workspace is gone. */
  gitHost(record: WorkspaceRecord): Promise<GitHost | undefined>;
  /** Applies `policy` to a workspace the orchestrator owns. */
  release(record: WorkspaceRecord, policy: CleanupPolicy): Promise<ReleaseOutcome>;
  /** Bytes on disk (host side), undefined when gone or not measurable. */
  diskUsage(record: WorkspaceRecord): Promise<number | undefined>;
  spawner?(record: WorkspaceRecord): ClaudeSpawner | undefined;
  /** Called after each turn: keeps a remote workspace alive while its session is used. */
  touch?(record: WorkspaceRecord): Promise<void>;
}

/** A folder name that is unique, readable in `ls`, and free of anything user-supplied. */
export function folderName(sessionId: string): string {
  const safe = sessionId.replace(/[^a-zA-Z0-9-]/g, '').slice(0, 36) || 'session';
  return `${safe}`;
}

export function str(record: WorkspaceRecord, key: string): string | undefined {
  const v = record[key];
  return typeof v === 'string' ? v : undefined;
}
