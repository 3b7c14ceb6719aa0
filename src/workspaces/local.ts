/**
 * The default workspace provider: an existing folder given as project_path, or a
 * new empty folder per session under WORKSPACES_DIR. Richer providers (clones,
 * worktrees, sandboxes) implement the same port.
 */
import fs from 'node:fs';
import path from 'node:path';
import { badRequest } from '../lib/errors.ts';
import type { WorkspacePort, WorkspaceRecord, WorkspaceRequest } from './port.ts';

export class LocalWorkspaces implements WorkspacePort {
  constructor(private readonly workspacesDir: string) {}

  async prepare(req: WorkspaceRequest): Promise<WorkspaceRecord> {
    if (req.project_path) {
      const p = path.resolve(req.project_path);
      let stat: fs.Stats;
      try {
        stat = fs.statSync(p);
      } catch {
        throw badRequest('workspace_not_found', `project_path ${req.project_path} does not exist`);
      }
      if (!stat.isDirectory()) throw badRequest('workspace_not_directory', `project_path ${req.project_path} is not a folder`);
      return { kind: req.project_type, path: p, cleanup: 'keep', owned: false };
    }
    const dir = path.join(this.workspacesDir, req.sessionId);
    fs.mkdirSync(dir, { recursive: true });
    return { kind: req.project_type, path: dir, cleanup: req.cleanup ?? 'keep', owned: true };
  }

  async afterTurn(): Promise<Record<string, unknown> | undefined> {
    return undefined;
  }

  async release(): Promise<void> {
    // Folders are kept: this provider never deletes anything.
  }

  spawner(): undefined {
    return undefined;
  }
}
