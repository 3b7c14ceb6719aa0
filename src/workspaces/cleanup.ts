/**
 * Cleanup of host folders the orchestrator made: keep, delete, or archive (a
 * tar.gz in WORKSPACES_DIR/archives, then delete). Removal always goes through
 * removeInside, which re-checks that the real path lies inside WORKSPACES_DIR.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { isInside, removeInside } from './paths.ts';
import type { CleanupPolicy } from './port.ts';
import type { ReleaseOutcome } from './provider.ts';

const exec = promisify(execFile);

/** Packs `dir` into `<root>/archives/<name>-<time>.tar.gz` and returns the archive's path. */
export async function archiveFolder(root: string, dir: string, name: string, timeoutMs: number): Promise<string> {
  const archives = path.join(root, 'archives');
  fs.mkdirSync(archives, { recursive: true });
  const file = path.join(archives, `${name}-${new Date().toISOString().replace(/[:.]/g, '-')}.tar.gz`);
  // -C parent, then the folder's base name after "--": tar never reads a user-controlled option.
  await exec('tar', ['-czf', file, '-C', path.dirname(dir), '--', path.basename(dir)], { timeout: timeoutMs });
  return file;
}

/** Applies a policy to a folder below `root`; `remove` does the deleting (a worktree removes itself through git). */
export async function applyPolicy(
  root: string,
  dir: string,
  policy: CleanupPolicy,
  name: string,
  timeoutMs: number,
  remove: () => Promise<void> = async () => {
    await removeInside(root, dir);
  },
): Promise<ReleaseOutcome> {
  if (!fs.existsSync(dir)) return { action: 'missing' };
  const realRoot = fs.realpathSync(root);
  if (!isInside(realRoot, fs.realpathSync(dir))) return { action: 'not_owned' };
  switch (policy) {
    case 'keep':
      return { action: 'kept' };
    case 'delete':
      await remove();
      return { action: 'deleted' };
    case 'archive': {
      const archive = await archiveFolder(root, dir, name, timeoutMs);
      await remove();
      return { action: 'archived', archive };
    }
    default: {
      const never: never = policy;
      throw new Error(`unknown cleanup policy ${String(never)}`);
    }
  }
}
