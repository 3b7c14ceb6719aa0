/**
 * `worktree`: a new `git worktree` of a base repository on a new branch
 * `cco/<session id>`. The base is an allowed local repository, or a bare clone
 * of a URL the orchestrator keeps in WORKSPACES_DIR/cache and fetches before
 * each use. All git work on one base runs one at a time (KeyedQueue): git locks
 * refs and the worktree list, and parallel `worktree add` calls fail on them.
 * Removing a worktree is `git worktree remove` of that one folder: the base
 * repository, its branches (the session's commits stay on cco/<id>) and other
 * worktrees are left alone.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { badRequest } from '../lib/errors.ts';
import { localGitHost, type GitHost } from './changes.ts';
import { applyPolicy } from './cleanup.ts';
import { checkRepoUrl } from './clone.ts';
import { credentialEnv } from './credentials.ts';
import { runGit } from './git.ts';
import { withConfigEntries } from './git-config-guard.ts';
import { checkRemoteTarget } from './remote-target.ts';
import { diskUsage, isInside, makeUniqueDir, removeInside, resolveWorkspaceInput } from './paths.ts';
import type { CleanupPolicy, WorkspaceRecord, WorkspaceRequest } from './port.ts';
import { folderName, str, type Provider, type ProviderContext, type ReleaseOutcome } from './provider.ts';
import { isCommitId, validateRef } from './validate.ts';

/** The stock upload-pack, named on every fetch so a configured one is never used. */
const UPLOAD_PACK = 'git-upload-pack';

interface Base {
  repo: string;
  url: string | undefined;
}

export class WorktreeProvider implements Provider {
  constructor(private readonly ctx: ProviderContext) {}

  private git(args: string[], cwd: string, extra: { timeoutMs?: number; env?: Record<string, string> } = {}) {
    return runGit(args, { cwd, timeoutMs: extra.timeoutMs ?? this.ctx.config.git.timeoutMs, env: extra.env }).then((r) => r.stdout.trim());
  }

  async prepare(req: WorkspaceRequest, cleanup: CleanupPolicy): Promise<WorkspaceRecord> {
    const { config, queue } = this.ctx;
    if (req.base_repo === undefined) throw badRequest('base_repo_required', 'project_type worktree needs base_repo (a local repository or a git URL)');
    const ref = req.ref === undefined ? undefined : validateRef(req.ref);
    const looksLikeUrl = typeof req.base_repo === 'string' && !req.base_repo.startsWith('/');
    const base: Base = looksLikeUrl ? { repo: this.cachePath(req.base_repo), url: checkRepoUrl(req.base_repo, config, 'base_repo').url } : { repo: resolveWorkspaceInput(req.base_repo, config, 'base_repo'), url: undefined };

    return queue.run(base.url ? `url:${base.url}` : base.repo, async () => {
      if (base.url) await this.refreshCache(base.repo, base.url);
      else await this.checkIsRepo(base.repo);
      const start = await this.startPoint(base, ref);
      const branch = await this.freeBranch(base.repo, `cco/${folderName(req.sessionId)}`);
      const dir = makeUniqueDir(config.dir, 'worktrees', folderName(req.sessionId));
      try {
        // `worktree add` wants to create the folder itself; we made it only to reserve a unique name.
        fs.rmdirSync(dir);
        await this.git(['worktree', 'add', '--quiet', '-b', branch, '--', dir, start], base.repo);
      } catch (e: unknown) {
        await removeInside(config.dir, dir).catch(() => {});
        throw e;
      }
      return {
        kind: 'worktree',
        path: dir,
        cleanup,
        owned: true,
        base_repo: base.repo,
        base_repo_url: base.url ?? null,
        ref: ref ?? null,
        branch,
        base_commit: start,
        created_at: new Date().toISOString(),
      };
    });
  }

  /** Where a URL's cached bare clone lives: named by a hash, so the URL never becomes a path. */
  private cachePath(url: string): string {
    const name = createHash('sha256').update(url).digest('hex').slice(0, 24);
    return path.join(this.ctx.config.dir, 'cache', `${name}.git`);
  }

  private async refreshCache(repo: string, url: string): Promise<void> {
    const { config } = this.ctx;
    const pins = await checkRemoteTarget(url, config.git.allowPrivateHosts);
    const env = withConfigEntries(credentialEnv(config.git.credentials, url), pins);
    if (!fs.existsSync(path.join(repo, 'HEAD'))) {
      fs.mkdirSync(path.dirname(repo), { recursive: true });
      await removeInside(config.dir, repo); // a half-made cache from an interrupted clone
      fs.mkdirSync(repo);
      await runGit(['init', '--quiet', '--bare', '--', repo], { timeoutMs: config.git.timeoutMs });
      await this.git(['remote', 'add', '--', 'origin', url], repo);
      await this.git(['config', 'remote.origin.fetch', '+refs/heads/*:refs/remotes/origin/*'], repo);
    }
    // The URL and the upload-pack command are given here, never read from the cache's config: a
    // session can write that config (its worktree points into the cache), and git takes the *first*
    // remote.origin.uploadpack it reads, so no override could replace a planted one.
    const net = { timeoutMs: config.git.cloneTimeoutMs, env };
    await this.git(['fetch', '--quiet', '--prune', '--tags', `--upload-pack=${UPLOAD_PACK}`, '--', url, '+refs/heads/*:refs/remotes/origin/*'], repo, net);
    // Remember the upstream default branch, so a session without ref starts from it.
    const head = /^ref: refs\/heads\/(\S+)\tHEAD$/m.exec(await this.git(['ls-remote', '--symref', `--upload-pack=${UPLOAD_PACK}`, '--', url, 'HEAD'], repo, net).catch(() => ''));
    if (head) await this.git(['symbolic-ref', 'refs/remotes/origin/HEAD', `refs/remotes/origin/${head[1]}`], repo).catch(() => '');
  }

  private async checkIsRepo(repo: string): Promise<void> {
    try {
      await this.git(['rev-parse', '--git-dir'], repo);
    } catch {
      throw badRequest('not_a_repository', 'base_repo is not a git repository');
    }
  }

  /** The commit the new branch starts from. */
  private async startPoint(base: Base, ref: string | undefined): Promise<string> {
    const candidates = ref === undefined
      ? base.url ? ['refs/remotes/origin/HEAD', 'HEAD'] : ['HEAD']
      : isCommitId(ref) ? [ref] : base.url ? [`refs/remotes/origin/${ref}`, `refs/tags/${ref}`] : [`refs/heads/${ref}`, `refs/tags/${ref}`, `refs/remotes/${ref}`];
    for (const c of candidates) {
      try {
        const sha = await this.git(['rev-parse', '--verify', '--quiet', '--end-of-options', `${c}^{commit}`], base.repo);
        if (sha) return sha;
      } catch {
        // try the next form
      }
    }
    throw badRequest('ref_not_found', ref === undefined ? 'base_repo has no commit to start from' : 'ref does not name a branch, tag or commit of base_repo');
  }

  private async freeBranch(repo: string, wanted: string): Promise<string> {
    for (let i = 0; i < 100; i += 1) {
      const name = i === 0 ? wanted : `${wanted}-${i}`;
      try {
        await this.git(['show-ref', '--verify', '--quiet', '--', `refs/heads/${name}`], repo);
      } catch {
        return name; // show-ref failed: the branch does not exist
      }
    }
    throw badRequest('branch_exists', 'could not find a free branch name');
  }

  async gitHost(record: WorkspaceRecord): Promise<GitHost | undefined> {
    return fs.existsSync(record.path) ? localGitHost(record.path, this.ctx.config.git.timeoutMs) : undefined;
  }

  release(record: WorkspaceRecord, policy: CleanupPolicy): Promise<ReleaseOutcome> {
    const { config, queue } = this.ctx;
    const baseRepo = str(record, 'base_repo');
    const remove = async () => {
      const real = fs.realpathSync(record.path);
      if (!isInside(fs.realpathSync(config.dir), real) || real === fs.realpathSync(config.dir)) throw new Error('worktree outside WORKSPACES_DIR');
      if (baseRepo && fs.existsSync(baseRepo)) {
        // Only this worktree's folder and its admin entry go; --force drops uncommitted changes (the policy said delete).
        await queue.run(this.queueKey(record), () => this.git(['worktree', 'remove', '--force', '--', real], baseRepo)).catch(() => '');
      }
      await removeInside(config.dir, real); // no-op when git already removed it; handles a vanished base repo
    };
    return applyPolicy(config.dir, record.path, policy, `worktree-${folderName(String(record.session_id ?? 'x'))}`, config.git.timeoutMs, remove);
  }

  private queueKey(record: WorkspaceRecord): string {
    const url = str(record, 'base_repo_url');
    return url ? `url:${url}` : String(record.base_repo);
  }

  diskUsage(record: WorkspaceRecord): Promise<number | undefined> {
    return diskUsage(record.path);
  }
}
