/**
 * `local`: an existing folder inside ALLOWED_ROOTS (never owned, never removed),
 * or, with no project_path, a new empty folder under WORKSPACES_DIR/local.
 */
import fs from 'node:fs';
import { headCommit, isGitWorkTree, localGitHost, type GitHost } from './changes.ts';
import { applyPolicy } from './cleanup.ts';
import { runGit } from './git.ts';
import { diskUsage, makeUniqueDir, resolveWorkspaceInput } from './paths.ts';
import type { CleanupPolicy, WorkspaceRecord, WorkspaceRequest } from './port.ts';
import { folderName, type Provider, type ProviderContext, type ReleaseOutcome } from './provider.ts';

export class LocalProvider implements Provider {
  constructor(private readonly ctx: ProviderContext) {}

  async prepare(req: WorkspaceRequest, cleanup: CleanupPolicy): Promise<WorkspaceRecord> {
    const { config } = this.ctx;
    if (req.project_path === undefined) {
      const path = makeUniqueDir(config.dir, 'local', folderName(req.sessionId));
      // An empty repository, so the session's changes can be measured and diffed like any other.
      await runGit(['init', '--quiet', '--', path], { timeoutMs: config.git.timeoutMs });
      return { kind: 'local', path, cleanup, owned: true, base_commit: null, created_at: new Date().toISOString() };
    }
    const path = resolveWorkspaceInput(req.project_path, config);
    const host = localGitHost(path, config.git.timeoutMs);
    const base = (await isGitWorkTree(host.git)) ? await headCommit(host.git) : null;
    return { kind: 'local', path, cleanup, owned: false, base_commit: base, created_at: new Date().toISOString() };
  }

  async gitHost(record: WorkspaceRecord): Promise<GitHost | undefined> {
    return fs.existsSync(record.path) ? localGitHost(record.path, this.ctx.config.git.timeoutMs) : undefined;
  }

  async release(record: WorkspaceRecord, policy: CleanupPolicy): Promise<ReleaseOutcome> {
    if (!record.owned) return { action: 'not_owned' };
    return applyPolicy(this.ctx.config.dir, record.path, policy, `local-${folderName(String(record.session_id ?? 'x'))}`, this.ctx.config.git.timeoutMs);
  }

  diskUsage(record: WorkspaceRecord): Promise<number | undefined> {
    return diskUsage(record.path);
  }
}
