/**
 * A corpus of hostile paths, URLs and refs, each sent through the real
 * WorkspaceManager: every one must be refused with a 400 AppError, nothing may
 * appear in WORKSPACES_DIR, and no injected command may have run.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createLogger } from '../src/logger.ts';
import { AppError } from '../src/lib/errors.ts';
import { WorkspaceManager } from '../src/workspaces/manager.ts';
import type { WorkspaceRequest } from '../src/workspaces/port.ts';
import { listFiles, makeOrigin, tempRoot, testWorkspacesConfig, type Origin } from './helpers/git-repos.ts';

let root: string;
let outside: string;
let origin: Origin;
let manager: WorkspaceManager;
let pwned: string;

before(() => {
  root = tempRoot();
  outside = tempRoot('cco-outside-');
  origin = makeOrigin(root);
  pwned = path.join(outside, 'pwned');
  fs.mkdirSync(path.join(root, 'allowed'));
  fs.symlinkSync('/etc', path.join(root, 'allowed', 'etc-link'));
  fs.symlinkSync(outside, path.join(root, 'allowed', 'outside-link'));
  fs.writeFileSync(path.join(root, 'allowed', 'a-file'), 'x');
  makeOrigin(outside, 'secret'); // a repository outside the allowed roots
  const config = testWorkspacesConfig(root, { allowedRoots: [path.join(root, 'allowed'), path.join(root, 'origin.git')] });
  manager = new WorkspaceManager(config, createLogger('silent', { pretty: false }));
});

after(() => {
  fs.rmSync(root, { recursive: true, force: true });
  fs.rmSync(outside, { recursive: true, force: true });
});

const sid = '00000000-0000-4000-8000-000000000001';

function corpus(): [string, Omit<WorkspaceRequest, 'sessionId'>][] {
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
    ...paths.map((p): [string, Omit<WorkspaceRequest, 'sessionId'>] => [`local path ${JSON.stringify(p).slice(0, 60)}`, { project_type: 'local', project_path: p }]),
    ...paths.slice(0, 12).map((p): [string, Omit<WorkspaceRequest, 'sessionId'>] => [`worktree base ${JSON.stringify(p).slice(0, 60)}`, { project_type: 'worktree', base_repo: p }]),
    ...urls.map((u): [string, Omit<WorkspaceRequest, 'sessionId'>] => [`repo_url ${JSON.stringify(u).slice(0, 60)}`, { project_type: 'github', repo_url: u }]),
    ...urls.slice(0, 10).map((u): [string, Omit<WorkspaceRequest, 'sessionId'>] => [`worktree base url ${JSON.stringify(u).slice(0, 60)}`, { project_type: 'worktree', base_repo: u }]),
    ...refs.map((r): [string, Omit<WorkspaceRequest, 'sessionId'>] => [`ref ${JSON.stringify(r).slice(0, 60)}`, { project_type: 'github', repo_url: origin.url, ref: r }]),
    ...refs.slice(0, 8).map((r): [string, Omit<WorkspaceRequest, 'sessionId'>] => [`worktree ref ${JSON.stringify(r).slice(0, 60)}`, { project_type: 'worktree', base_repo: origin.bare, ref: r }]),
  ];
}

describe('hostile input is refused', () => {
  test('the corpus has at least 50 entries', () => {
    assert.ok(corpus().length >= 50, `only ${corpus().length}`);
  });

  test('every entry: 400 with a stable code, nothing created, nothing run, no secret echoed', async () => {
    const before = fs.existsSync(path.join(root, 'workspaces')) ? listFiles(path.join(root, 'workspaces')) : [];
    for (const [name, req] of corpus()) {
      await assert.rejects(manager.prepare({ sessionId: sid, ...req }), (e: unknown) => {
        assert.ok(e instanceof AppError, `${name}: not an AppError: ${String(e)}`);
        assert.equal(e.statusCode, 400, `${name}: status ${e.statusCode} (${e.code}: ${e.message})`);
        assert.match(e.code, /^[a-z_]+$/);
        assert.ok(!/^(clone|git)_/.test(e.code), `${name}: reached git (${e.code}) instead of being refused up front`);
        assert.ok(!e.message.includes('s3cret'), `${name}: message repeats the secret`);
        return true;
      }, name);
    }
    const afterList = fs.existsSync(path.join(root, 'workspaces')) ? listFiles(path.join(root, 'workspaces')) : [];
    assert.deepEqual(afterList, before, 'a refused request left files in WORKSPACES_DIR');
    assert.ok(!fs.existsSync(pwned), 'an injected command ran');
    assert.deepEqual(fs.readdirSync(outside).sort(), ['secret-work', 'secret.git']);
  });
});
