/**
 * ALLOWED_ROOTS lets sessions use host folders. Admin keys may use every root;
 * user keys only their own, the roots written with {owner} (e.g.
 * /srv/work/{owner}), so one user cannot point Claude Code at another's folders.
 * The workspace manager still applies every other folder rule afterwards.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { AppError } from '../lib/errors.ts';
import type { Principal } from './principal.ts';

export interface HostPathInputs {
  project_type: string;
  project_path?: string | undefined;
  repo_url?: string | undefined;
  base_repo?: string | undefined;
}

/** The host folders a request names, with the field each came from. */
function hostPaths(req: HostPathInputs): [string, string][] {
  const out: [string, string][] = [];
  const fileUrl = (field: string, v: string | undefined) => {
    if (v?.startsWith('file:')) {
      try {
        out.push([field, fileURLToPath(v)]);
      } catch {
        out.push([field, v]); // not a path the manager will take either; refused below unless inside
      }
    }
  };
  if (req.project_path !== undefined && (req.project_type === 'local' || req.project_type === 'e2b')) out.push(['project_path', req.project_path]);
  if (req.base_repo !== undefined) {
    if (req.base_repo.startsWith('/')) out.push(['base_repo', req.base_repo]);
    else fileUrl('base_repo', req.base_repo);
  }
  fileUrl('repo_url', req.repo_url);
  return out;
}

const real = (p: string) => {
  try {
    return fs.realpathSync(p);
  } catch {
    return path.resolve(p);
  }
};

const strictlyInside = (child: string, root: string) => child.startsWith(root.endsWith(path.sep) ? root : root + path.sep);

export function checkOwnPaths(actor: Principal, req: HostPathInputs, ownerRoots: readonly string[]): void {
  if (actor.role === 'admin') return;
  const own = ownerRoots.map((r) => real(r.split('{owner}').join(actor.owner)));
  for (const [field, p] of hostPaths(req)) {
    const target = real(p);
    if (!own.some((root) => strictlyInside(target, root))) {
      throw new AppError(
        'forbidden',
        `body.${field}: user keys may use host folders only inside their own ALLOWED_ROOTS (${own.length ? own.join(', ') : 'none: no root has {owner}'}); other folders are for admin keys`,
        403,
      );
    }
  }
}
