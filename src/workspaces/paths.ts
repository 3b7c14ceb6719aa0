/**
 * File-system guards. Every containment check runs on real paths (symlinks
 * resolved), and removal re-checks containment immediately before deleting, so
 * nothing outside WORKSPACES_DIR is ever removed, whatever a record says.
 */
import fs from 'node:fs';
import path from 'node:path';
import { AppError, badRequest } from '../lib/errors.ts';
import { validateLocalPath } from './validate.ts';

/** True when `child` is `parent` itself or lies below it (both already real and absolute). */
export function isInside(parent: string, child: string): boolean {
  const rel = path.relative(parent, child);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel) && rel.split(path.sep)[0] !== '..');
}

function realOrUndefined(p: string): string | undefined {
  try {
    return fs.realpathSync(p);
  } catch {
    return undefined;
  }
}

/**
 * Resolves a client-supplied folder to its real path and checks it is an
 * existing directory strictly inside one of `roots` (themselves resolved), and
 * neither inside nor above any of `protectedDirs` (the orchestrator's own
 * folders: WORKSPACES_DIR, DATA_DIR, CCO_HOME...). A root itself is refused: a
 * session given a root (or WORKSPACES_DIR) would see every other session's
 * folder. Refused as well: "..", a symlink leading outside, a missing folder, a file.
 */
export function resolveAllowedDir(input: unknown, roots: readonly string[], field = 'project_path', protectedDirs: readonly string[] = []): string {
  const p = validateLocalPath(input, field);
  const real = realOrUndefined(p);
  if (real === undefined) throw badRequest('path_not_found', `${field} does not exist`);
  const realRoots = roots.map(realOrUndefined).filter((r): r is string => r !== undefined);
  if (!realRoots.some((r) => r !== real && isInside(r, real))) {
    throw badRequest('path_not_allowed', `${field} must be a folder strictly inside the allowed roots (ALLOWED_ROOTS)`);
  }
  // A protected folder that does not exist yet still protects its would-be parents.
  const guarded = protectedDirs.map((d) => realOrUndefined(d) ?? path.resolve(d));
  if (guarded.some((d) => isInside(d, real) || isInside(real, d))) {
    throw badRequest('path_not_allowed', `${field} is, contains or lies inside a folder of the orchestrator (WORKSPACES_DIR, DATA_DIR, CCO_HOME)`);
  }
  if (!fs.statSync(real).isDirectory()) throw badRequest('path_not_directory', `${field} is not a directory`);
  return real;
}

/** resolveAllowedDir with a workspace config's roots and the orchestrator's folders (WORKSPACES_DIR first). */
export function resolveWorkspaceInput(input: unknown, config: { dir: string; allowedRoots: readonly string[]; protectedDirs?: readonly string[] | undefined }, field = 'project_path'): string {
  return resolveAllowedDir(input, config.allowedRoots, field, [config.dir, ...(config.protectedDirs ?? [])]);
}

/**
 * Removes `target` recursively, but only when its real path lies strictly
 * inside the real `root`. Checked right before deleting; a symlinked target is
 * unlinked, never followed. Returns false when there was nothing to remove.
 */
export async function removeInside(root: string, target: string): Promise<boolean> {
  const realRoot = fs.realpathSync(root);
  let st: fs.Stats;
  try {
    st = await fs.promises.lstat(target);
  } catch {
    return false;
  }
  // The parent must resolve inside the root; the target itself is lstat'ed so a symlink is removed as a link.
  const realParent = realOrUndefined(path.dirname(target));
  const realTarget = realParent === undefined ? undefined : path.join(realParent, path.basename(target));
  if (realTarget === undefined || realTarget === realRoot || !isInside(realRoot, realTarget)) {
    throw new AppError('unsafe_removal', 'refused to remove a folder outside WORKSPACES_DIR', 500);
  }
  if (st.isSymbolicLink()) await fs.promises.unlink(realTarget);
  else await fs.promises.rm(realTarget, { recursive: true, force: true });
  return true;
}

/** Bytes used by the files below `dir` (symlinks not followed); undefined when it is gone. */
export async function diskUsage(dir: string, limitEntries = 500_000): Promise<number | undefined> {
  let total = 0;
  let seen = 0;
  const stack = [dir];
  try {
    await fs.promises.lstat(dir);
  } catch {
    return undefined;
  }
  while (stack.length > 0 && seen < limitEntries) {
    const d = stack.pop()!;
    let entries: fs.Dirent[];
    try {
      entries = await fs.promises.readdir(d, { withFileTypes: true });
    } catch {
      continue;
    }
    for (const e of entries) {
      seen += 1;
      const p = path.join(d, e.name);
      if (e.isDirectory()) stack.push(p);
      else {
        try {
          total += (await fs.promises.lstat(p)).size;
        } catch {
          // removed while walking
        }
      }
    }
  }
  return total;
}

/** A new, empty, unique folder `<root>/<kind>/<name>`; fails rather than reuse one that exists. */
export function makeUniqueDir(root: string, kind: string, name: string): string {
  const parent = path.join(root, kind);
  fs.mkdirSync(parent, { recursive: true });
  for (let i = 0; i < 100; i += 1) {
    const dir = path.join(parent, i === 0 ? name : `${name}-${i}`);
    try {
      fs.mkdirSync(dir); // not recursive: throws EEXIST instead of sharing a folder
      return fs.realpathSync(dir);
    } catch (e: unknown) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
  }
  throw new AppError('workspace_exists', 'could not find a free workspace folder name', 500);
}
