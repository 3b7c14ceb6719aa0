/**
 * The hostile path, URL and ref corpus of the workspaces issue: every entry must be refused
 * up front (400, before git runs). Used against the WorkspaceManager directly
 * (test/workspaces-hostile.test.ts) and through POST /api/sessions per role (test/security/).
 */
import fs from 'node:fs';
import path from 'node:path';
import type { WorkspaceRequest } from '../../src/workspaces/port.ts';
import { makeOrigin, tempRoot, type Origin } from './git-repos.ts';

export type HostileRequest = Omit<WorkspaceRequest, 'sessionId'>;

export interface CorpusPlaces {
  /** Holds `allowed/` (the allowed root, with symlinks to /etc and to `outside`) and `origin.git`. */
  root: string;
  origin: Origin;
  /** A folder outside the allowed roots (holds a `secret` repository). */
  outside: string;
  /** A file an injected command would create. */
  pwned: string;
}

/** Makes the places the corpus points at; the allowed roots are `allowedRoots`. Remove with `cleanup()`. */
export function hostilePlaces(): CorpusPlaces & { allowedRoots: string[]; cleanup(): void } {
  const root = tempRoot();
  const outside = tempRoot('cco-outside-');
  const origin = makeOrigin(root);
  fs.mkdirSync(path.join(root, 'allowed'));
  fs.symlinkSync('/etc', path.join(root, 'allowed', 'etc-link'));
  fs.symlinkSync(outside, path.join(root, 'allowed', 'outside-link'));
  fs.writeFileSync(path.join(root, 'allowed', 'a-file'), 'x');
  makeOrigin(outside, 'secret'); // a repository outside the allowed roots
  return {
    root, outside, origin, pwned: path.join(outside, 'pwned'),
    allowedRoots: [path.join(root, 'allowed'), path.join(root, 'origin.git')],
    cleanup() {
      fs.rmSync(root, { recursive: true, force: true });
      fs.rmSync(outside, { recursive: true, force: true });
    },
  };
}

export function hostileWorkspaceCorpus({ root, origin, outside, pwned }: CorpusPlaces): [string, HostileRequest][] {
  const A = path.join(root, 'allowed');
  const paths = [
    '/etc', '/', '/root', `${A}/../../`, `${A}/..`, `${A}/sub/../../x`, 'relative/path', './allowed', '~/src', '',
    `${A}/etc-link`, `${A}/outside-link`, `${A}/outside-link/`, `${A}/does-not-exist`, `${A}/a-file`, `${A}\u0000/x`, `${A}/new\nline`,
    outside, `${A}/../${path.basename(root)}-evil`, `${'/x'.repeat(600)}`,
  ];
  const urls = [
    '--upload-pack=touch /tmp/x', '-u touch', '--config=core.sshCommand=touch', '-c core.sshCommand=touch',
    `ext::sh -c touch% ${pwned}`, 'ext::sh -c id', 'fd::17', 'transport::https://example.com/repo',
    `ssh://-oProxyCommand=touch ${pwned}/x/repo`, `ssh://-oProxyCommand=touch%20${pwned}/repo`, 'ssh://user@-host/repo', 'ssh://-user@host/repo',
    '-oProxyCommand=x:repo', 'git@-host:org/repo', 'git@host:-org/repo', 'ftp://example.com/repo.git', 'javascript:alert(1)',
    'https://user:s3cret@example.com/repo.git', 'https://token@example.com/repo.git', 'https://example.com/repo.git?x=1', 'https://example.com/repo.git#frag',
    'https://example.com/', 'https://exa mple.com/repo', 'https://example.com/repo\n--upload-pack=x', 'https://-example.com/repo',
    'https://example.com/a/../../../etc', 'file:///etc', `file://${outside}/secret.git`, 'file://host/srv/repo', '/srv/repo-without-scheme',
    'C:\\repo', '', 'x'.repeat(3000),
  ];
  const refs = [
    '--upload-pack=x', '-b', '-', 'main..evil', 'a b', 'a\tb', 'x~1', 'x^', 'x:y', 'x?', 'x*', 'x[', 'x\\y', '@{-1}', '@', '/main',
    'main/', 'a//b', 'main.', '.hidden', 'a/.b', 'x.lock', 'a/b.lock/c', 'line\nbreak', '', 'r'.repeat(300),
  ];
  return [
    ...paths.map((p): [string, HostileRequest] => [`local path ${JSON.stringify(p).slice(0, 60)}`, { project_type: 'local', project_path: p }]),
    ...paths.slice(0, 12).map((p): [string, HostileRequest] => [`worktree base ${JSON.stringify(p).slice(0, 60)}`, { project_type: 'worktree', base_repo: p }]),
    ...urls.map((u): [string, HostileRequest] => [`repo_url ${JSON.stringify(u).slice(0, 60)}`, { project_type: 'github', repo_url: u }]),
    ...urls.slice(0, 10).map((u): [string, HostileRequest] => [`worktree base url ${JSON.stringify(u).slice(0, 60)}`, { project_type: 'worktree', base_repo: u }]),
    ...refs.map((r): [string, HostileRequest] => [`ref ${JSON.stringify(r).slice(0, 60)}`, { project_type: 'github', repo_url: origin.url, ref: r }]),
    ...refs.slice(0, 8).map((r): [string, HostileRequest] => [`worktree ref ${JSON.stringify(r).slice(0, 60)}`, { project_type: 'worktree', base_repo: origin.bare, ref: r }]),
  ];
}
