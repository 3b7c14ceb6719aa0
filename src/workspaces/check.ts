/**
 * The input checks of each workspace kind, without making anything: the same
 * checks its provider's prepare() runs first. SessionCommands calls them inside
 * the request, so bad input (a folder outside ALLOWED_ROOTS, a URL that leads to
 * a private address) is still a 400 when the workspace itself is made in the
 * background. The providers check again when they fetch (DNS may have changed).
 */
import { badRequest } from '../lib/errors.ts';
import type { WorkspacesConfig } from '../config.ts';
import { checkRepoUrl } from './clone.ts';
import { resolveWorkspaceInput } from './paths.ts';
import type { WorkspaceRequest } from './port.ts';
import { checkRemoteTarget } from './remote-target.ts';
import { validateRef } from './validate.ts';

async function checkUrl(input: unknown, config: WorkspacesConfig, field?: string): Promise<void> {
  const parsed = checkRepoUrl(input, config, field);
  if (parsed.kind === 'remote') await checkRemoteTarget(parsed.url, config.git.allowPrivateHosts);
}

export async function checkRequest(req: WorkspaceRequest, config: WorkspacesConfig): Promise<void> {
  if (req.ref !== undefined) validateRef(req.ref);
  switch (req.project_type) {
    case 'local':
      if (req.project_path !== undefined) resolveWorkspaceInput(req.project_path, config);
      return;
    case 'github':
      if (req.repo_url === undefined) throw badRequest('repo_url_required', 'project_type github needs repo_url');
      await checkUrl(req.repo_url, config);
      return;
    case 'worktree': {
      if (req.base_repo === undefined) throw badRequest('base_repo_required', 'project_type worktree needs base_repo (a local repository or a git URL)');
      const looksLikeUrl = typeof req.base_repo === 'string' && !req.base_repo.startsWith('/');
      if (looksLikeUrl) await checkUrl(req.base_repo, config, 'base_repo');
      else resolveWorkspaceInput(req.base_repo, config, 'base_repo');
      return;
    }
    case 'e2b':
      if (!config.e2b.apiKey) throw badRequest('e2b_not_configured', 'project_type e2b needs E2B_API_KEY on the server');
      if (req.repo_url !== undefined) await checkUrl(req.repo_url, config);
      if (req.project_path !== undefined) resolveWorkspaceInput(req.project_path, config);
      return;
    default: {
      const never: never = req.project_type;
      throw badRequest('invalid_project_type', `unknown project_type ${String(never)}`);
    }
  }
}
