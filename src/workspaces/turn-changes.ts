/**
 * What one turn changed. After each turn the change scan writes the workspace's whole state as a
 * git tree (changes.ts `tree`); a turn's changes are the difference between the tree before it
 * (the previous turn's, or the commit the workspace started from for the first) and the tree after
 * it. Trees are unreferenced objects: `git gc` may prune them after gc.pruneExpire (two weeks by
 * default), and the turn's diff is then gone (turn_snapshot_gone), while its counts stay stored.
 */
import { EMPTY_TREE, MAX_FILES_LISTED, parseNumstat, type ChangeSummary, type GitHost } from './changes.ts';

export interface TurnChanges {
  /** The tree or commit compared with: the previous turn's tree, or the workspace's start. */
  from: string;
  /** The workspace's tree when the turn ended. */
  tree: string;
  files_changed: number;
  lines_added: number;
  lines_removed: number;
  files: ChangeSummary['files'];
  measured_at: string;
}

export interface TurnDiff {
  from: string;
  tree: string;
  diff: string;
  truncated: boolean;
}

/**
 * Where a turn starts from: the tree the previous scan wrote; for a workspace never scanned, the
 * commit it started from. Undefined when a previous scan exists but wrote no tree (it failed, or
 * ran before trees were written): the turn's own changes cannot be told apart then.
 */
export function turnStart(previousChanges: unknown, baseCommit: string | null): string | undefined {
  if (previousChanges === undefined || previousChanges === null) return baseCommit ?? EMPTY_TREE;
  const tree = (previousChanges as { tree?: unknown }).tree;
  return typeof tree === 'string' && /^[0-9a-f]{40,64}$/.test(tree) ? tree : undefined;
}

export async function summarizeTurn(host: GitHost, from: string, tree: string): Promise<TurnChanges> {
  const numstat = await host.git(['diff', '--numstat', '-z', '--no-renames', '--no-ext-diff', '--no-textconv', from, tree, '--']);
  const { files, added, removed } = parseNumstat(numstat);
  return { from, tree, files_changed: files.length, lines_added: added, lines_removed: removed, files: files.slice(0, MAX_FILES_LISTED), measured_at: new Date().toISOString() };
}

/** True when both ends are still in the object store. */
export async function snapshotsExist(host: GitHost, from: string, tree: string): Promise<boolean> {
  try {
    await host.git(['cat-file', '-e', `${from}^{tree}`]);
    await host.git(['cat-file', '-e', `${tree}^{tree}`]);
    return true;
  } catch {
    return false;
  }
}

export async function diffTurn(host: GitHost, from: string, tree: string, maxBytes: number): Promise<TurnDiff> {
  const out = await host.git(['diff', '--no-color', '--no-ext-diff', '--no-textconv', '--binary', from, tree, '--'], { maxOutputBytes: maxBytes + 1 });
  const truncated = Buffer.byteLength(out) > maxBytes;
  return { from, tree, diff: truncated ? Buffer.from(out).subarray(0, maxBytes).toString('utf8') : out, truncated };
}
