/**
 * `github` (any git URL): a clone into a new unique folder under
 * WORKSPACES_DIR/clones. Shallow by default, bounded in time and in size;
 * credentials from GIT_CREDENTIALS reach git only through its environment.
 */
import fs from 'node:fs';
import { badRequest } from '../lib/errors.ts';
import { headCommit, localGitHost, type GitHost } from './changes.ts';
import { applyPolicy } from './cleanup.ts';
import { credentialEnv } from './credentials.ts';
import { GitError, runGit } from './git.ts';
import { withConfigEntries } from './git-config-guard.ts';
import { checkRemoteTarget } from './remote-target.ts';
import { diskUsage, makeUniqueDir, removeInside, resolveWorkspaceInput } from './paths.ts';
import type { CleanupPolicy, WorkspaceRecord, WorkspaceRequest } from './port.ts';
import { folderName, type Provider, type ProviderContext, type ReleaseOutcome } from './provider.ts';
import { isCommitId, parseRepoUrl, validateRef, type RepoUrl } from './validate.ts';
import type { WorkspacesConfig } from '../config.ts';

/** Parses a repo URL and, for file:// URLs, checks the repository lies inside the allowed roots. */
export function checkRepoUrl(input: unknown, config: WorkspacesConfig, field = 'repo_url'): RepoUrl {
  const parsed = parseRepoUrl(input, field);
  if (parsed.kind === 'file') resolveWorkspaceInput(parsed.path, config, field);
  return parsed;
}

/**
 * Clones `url` at `ref` into the empty folder `dir`. A full commit id is fetched
 * by id (init + fetch + detached checkout); a branch or tag goes through
 * `clone --branch`. Removes nothing: the caller owns `dir`.
 */
export async function cloneInto(config: WorkspacesConfig, dir: string, url: string, ref: string | undefined): Promise<void> {
  const { git } = config;
  const pins = await checkRemoteTarget(url, git.allowPrivateHosts);
  const env = withConfigEntries(credentialEnv(git.credentials, url), pins);
  const depth = git.cloneDepth > 0 ? [`--depth=${git.cloneDepth}`] : [];
  const watch = async () => {
    const used = await diskUsage(dir);
    return used !== undefined && used > git.cloneMaxBytes ? `stopped: the clone passed GIT_CLONE_MAX_BYTES (${git.cloneMaxBytes} bytes)` : undefined;
  };
  const opts = { timeoutMs: git.cloneTimeoutMs, env, watch };
  try {
    if (ref !== undefined && isCommitId(ref)) {
      await runGit(['init', '--quiet', '--', dir], { timeoutMs: git.timeoutMs });
      await runGit(['remote', 'add', '--', 'origin', url], { cwd: dir, timeoutMs: git.timeoutMs });
      await runGit(['fetch', '--quiet', '--no-tags', ...depth, '--', 'origin', ref], { ...opts, cwd: dir });
      await runGit(['checkout', '--quiet', '--detach', 'FETCH_HEAD'], { cwd: dir, timeoutMs: git.cloneTimeoutMs });
    } else {
      const branch = ref !== undefined ? [`--branch=${ref}`] : [];
      await runGit(['clone', '--quiet', '--no-recurse-submodules', ...depth, ...branch, '--', url, dir], opts);
    }
  } catch (e: unknown) {
    if (e instanceof GitError) throw new GitError(e.code.replace(/^git_/, 'clone_'), e.message, e.exitCode, e.stderrTail, e.statusCode);
    throw e;
  }
  const used = await diskUsage(dir);
  if (used !== undefined && used > git.cloneMaxBytes) {
    throw badRequest('clone_aborted', `the clone is larger than GIT_CLONE_MAX_BYTES (${git.cloneMaxBytes} bytes)`);
  }
}

export class CloneProvider implements Provider {
  constructor(private readonly ctx: ProviderContext) {}

  async prepare(req: WorkspaceRequest, cleanup: CleanupPolicy): Promise<WorkspaceRecord> {
    const { config } = this.ctx;
    if (req.repo_url === undefined) throw badRequest('repo_url_required', 'project_type github needs repo_url');
    const repo = checkRepoUrl(req.repo_url, config);
    const ref = req.ref === undefined ? undefined : validateRef(req.ref);
    const dir = makeUniqueDir(config.dir, 'clones', folderName(req.sessionId));
    try {
      await cloneInto(config, dir, repo.url, ref);
    } catch (e: unknown) {
      await removeInside(config.dir, dir).catch(() => {});
      throw e;
    }
    const host = localGitHost(dir, config.git.timeoutMs);
    const base = await headCommit(host.git);
    const branch = (await host.git(['rev-parse', '--abbrev-ref', 'HEAD'])).trim();
    return {
      kind: 'github',
      path: dir,
      cleanup,
      owned: true,
      repo_url: repo.url,
      ref: ref ?? null,
      branch: branch === 'HEAD' ? null : branch,
      base_commit: base,
      created_at: new Date().toISOString(),
    };
  }

  async gitHost(record: WorkspaceRecord): Promise<GitHost | undefined> {
    return fs.existsSync(record.path) ? localGitHost(record.path, this.ctx.config.git.timeoutMs) : undefined;
  }

  release(record: WorkspaceRecord, policy: CleanupPolicy): Promise<ReleaseOutcome> {
    return applyPolicy(this.ctx.config.dir, record.path, policy, `clone-${folderName(String(record.session_id ?? 'x'))}`, this.ctx.config.git.timeoutMs);
  }

  diskUsage(record: WorkspaceRecord): Promise<number | undefined> {
    return diskUsage(record.path);
  }
}
