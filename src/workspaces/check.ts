/**
 * The input checks of each workspace kind, without making anything: the same
 * checks its provider's prepare() runs first. SessionCommands calls them inside
 * the request, so bad input is still a 400 when the workspace itself is made in
 * the background.
 */
import { badRequest } from '../lib/errors.ts';
import type { WorkspacesConfig } from '../config.ts';
import { checkRepoUrl } from './clone.ts';
import { resolveAllowedDir } from './paths.ts';
import type { WorkspaceRequest } from './port.ts';
import { validateRef } from './validate.ts';

export async function checkRequest(req: WorkspaceRequest, config: WorkspacesConfig): Promise<void> {
  const roots = [...config.allowedRoots, config.dir];
  if (req.ref !== undefined) validateRef(req.ref);
  switch (req.project_type) {
    case 'local':
      if (req.project_path !== undefined) resolveAllowedDir(req.project_path, roots);
      return;
    case 'github':
      if (req.repo_url === undefined) throw badRequest('repo_url_required', 'project_type github needs repo_url');
      await checkRepoUrl(req.repo_url, config);
      return;
    case 'worktree': {
      if (req.base_repo === undefined) throw badRequest('base_repo_required', 'project_type worktree needs base_repo (a local repository or a git URL)');
      const looksLikeUrl = typeof req.base_repo === 'string' && !req.base_repo.startsWith('/');
      if (looksLikeUrl) await checkRepoUrl(req.base_repo, config, 'base_repo');
      else resolveAllowedDir(req.base_repo, roots, 'base_repo');
      return;
    }
    case 'e2b':
      if (!config.e2b.apiKey) throw badRequest('e2b_not_configured', 'project_type e2b needs E2B_API_KEY on the server');
      if (req.repo_url !== undefined) await checkRepoUrl(req.repo_url, config);
      if (req.project_path !== undefined) resolveAllowedDir(req.project_path, roots);
      return;
    default: {
      const never: never = req.project_type;
      throw badRequest('invalid_project_type', `unknown project_type ${String(never)}`);
    }
  }
}
