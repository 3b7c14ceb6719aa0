/**
 * What a session changed in its workspace: files changed, lines added and
 * removed, current branch and commit, and the diff itself. The baseline is the
 * commit the workspace started from (record.base_commit), so committed and
 * uncommitted work both count. Untracked files are included by staging into a
 * throw-away index (GIT_INDEX_FILE), which leaves the real index untouched.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runGit } from './git.ts';

export interface ChangeSummary {
  git: boolean;
  branch: string | null;
  commit: string | null;
  base_commit: string | null;
  files_changed: number;
  lines_added: number;
  lines_removed: number;
  files: { path: string; added: number | null; removed: number | null }[];
  measured_at: string;
  /**
   * The git tree of the whole workspace (tracked and untracked files) when measured: written from
   * the scratch index, so the next turn's changes can be told apart from this one's (turn-changes.ts).
   */
  tree?: string | null;
}

export interface DiffResult {
  base_commit: string | null;
  commit: string | null;
  diff: string;
  truncated: boolean;
}

export const MAX_FILES_LISTED = 200;

/** Runs git in a workspace; a provider may run it elsewhere (inside a sandbox). */
export interface GitHost {
  git(args: string[], opts?: { env?: Record<string, string>; maxOutputBytes?: number }): Promise<string>;
  /** A private copy of `index` (if it exists) at a fresh path on the same machine as the workspace. */
  scratchIndex(index: string): Promise<{ path: string; dispose(): Promise<void> }>;
}
type GitRunner = GitHost['git'];

export function localGitHost(cwd: string, timeoutMs: number): GitHost {
  return {
    git: async (args, opts = {}) => (await runGit(args, { cwd, timeoutMs, env: opts.env, maxOutputBytes: opts.maxOutputBytes })).stdout,
    async scratchIndex(index) {
      const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cco-index-'));
      const p = path.join(tmp, 'index');
      if (fs.existsSync(index)) fs.copyFileSync(index, p);
      return { path: p, dispose: async () => fs.rmSync(tmp, { recursive: true, force: true }) };
    },
  };
}

export async function isGitWorkTree(run: GitRunner): Promise<boolean> {
  try {
    return (await run(['rev-parse', '--is-inside-work-tree'])).trim() === 'true';
  } catch {
    return false;
  }
}

export async function headCommit(run: GitRunner): Promise<string | null> {
  try {
    return (await run(['rev-parse', '--verify', '--quiet', 'HEAD^{commit}'])).trim() || null;
  } catch {
    return null; // a repository without commits
  }
}

async function currentBranch(run: GitRunner): Promise<string | null> {
  try {
    return (await run(['symbolic-ref', '--quiet', '--short', 'HEAD'])).trim() || null;
  } catch {
    return null; // detached HEAD
  }
}

/** Stages everything (tracked, untracked, deletions) into a temporary index and runs `git diff --cached <base>` there. */
async function withScratchIndex<T>(host: GitHost, fn: (env: Record<string, string>) => Promise<T>): Promise<T> {
  const realIndex = (await host.git(['rev-parse', '--path-format=absolute', '--git-path', 'index'])).trim();
  const scratch = await host.scratchIndex(realIndex);
  try {
    const env = { GIT_INDEX_FILE: scratch.path };
    await host.git(['add', '--all', '--', '.'], { env });
    return await fn(env);
  } finally {
    await scratch.dispose();
  }
}

/** The empty tree's id: the baseline when the repository had no commit yet. */
export const EMPTY_TREE = '4b825dc642cb6eb9a060e54bf8d69288fbee4904';

/** `git diff --numstat -z --no-renames` output as files (null counts: a binary file) and totals. */
export function parseNumstat(numstat: string): { files: ChangeSummary['files']; added: number; removed: number } {
  const files: ChangeSummary['files'] = [];
  let added = 0;
  let removed = 0;
  for (const rec of numstat.split('\0')) {
    const m = /^(-|\d+)\t(-|\d+)\t(.*)$/s.exec(rec);
    if (!m) continue;
    const a = m[1] === '-' ? null : Number(m[1]);
    const r = m[2] === '-' ? null : Number(m[2]);
    added += a ?? 0;
    removed += r ?? 0;
    files.push({ path: m[3]!, added: a, removed: r });
  }
  return { files, added, removed };
}

export async function summarizeChanges(host: GitHost, baseCommit: string | null): Promise<ChangeSummary> {
  const run = host.git;
  const measured_at = new Date().toISOString();
  if (!(await isGitWorkTree(run))) {
    return { git: false, branch: null, commit: null, base_commit: null, files_changed: 0, lines_added: 0, lines_removed: 0, files: [], measured_at };
  }
  const [branch, commit] = await Promise.all([currentBranch(run), headCommit(run)]);
  const { numstat, tree } = await withScratchIndex(host, async (env) => ({
    numstat: await run(['diff', '--cached', '--numstat', '-z', '--no-renames', '--no-ext-diff', '--no-textconv', baseCommit ?? EMPTY_TREE, '--'], { env }),
    // The blobs are in the object store already (`add --all` wrote them): the tree costs one small object.
    tree: (await run(['write-tree'], { env })).trim() || null,
  }));
  const { files, added, removed } = parseNumstat(numstat);
  return {
    git: true,
    branch,
    commit,
    base_commit: baseCommit,
    files_changed: files.length,
    lines_added: added,
    lines_removed: removed,
    files: files.slice(0, MAX_FILES_LISTED),
    measured_at,
    tree,
  };
}

export async function diffChanges(host: GitHost, baseCommit: string | null, maxBytes: number): Promise<DiffResult> {
  const run = host.git;
  if (!(await isGitWorkTree(run))) return { base_commit: null, commit: null, diff: '', truncated: false };
  const commit = await headCommit(run);
  const out = await withScratchIndex(host, (env) =>
    run(['diff', '--cached', '--no-color', '--no-ext-diff', '--no-textconv', '--binary', baseCommit ?? EMPTY_TREE, '--'], { env, maxOutputBytes: maxBytes + 1 }),
  );
  const truncated = Buffer.byteLength(out) > maxBytes;
  return { base_commit: baseCommit, commit, diff: truncated ? Buffer.from(out).subarray(0, maxBytes).toString('utf8') : out, truncated };
}
