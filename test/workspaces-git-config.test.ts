/**
 * Issue 9, points 18 and 13 (git side): the git commands the orchestrator runs
 * in a workspace (the after-turn change scan, the diff route, worktree and
 * cache fetches) never run a command the repository's own configuration,
 * attributes or hooks name. Each case plants one key pointing at a command that
 * writes a marker file, triggers the orchestrator's git, and checks the marker
 * is absent.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { call, createTestApp, workspaceSettled, type TestApp } from './helpers/app.ts';
import { startGitHttpServer } from './helpers/git-http.ts';
import { git, makeOrigin, tempRoot, testWorkspacesConfig, type Origin } from './helpers/git-repos.ts';

let root: string;
let origin: Origin;
let t: TestApp;

before(async () => {
  root = tempRoot();
  origin = makeOrigin(root);
  t = await createTestApp({ workspaces: testWorkspacesConfig(root, { git: { ...testWorkspacesConfig(root).git, allowPrivateHosts: ['127.0.0.1'] } }) });
});
after(async () => {
  await t.close();
  fs.rmSync(root, { recursive: true, force: true });
});

const markerFor = (name: string) => path.join(root, `marker-${name.replace(/[^a-z0-9]+/gi, '-')}`);

/** A hooks folder whose every hook the scan, a fetch or a checkout could run writes the marker. */
function hookDir(marker: string, dir: string): string {
  fs.mkdirSync(dir, { recursive: true });
  for (const h of ['post-index-change', 'post-checkout', 'reference-transaction', 'pre-auto-gc', 'post-rewrite', 'fsmonitor-watchman']) {
    fs.writeFileSync(path.join(dir, h), `#!/bin/sh\nenv > ${marker}\n`, { mode: 0o755 });
  }
  return dir;
}

/** One dangerous setting per case: what it plants in the workspace (cwd = the workspace folder). */
const scanCases: [string, (ws: string, marker: string) => void][] = [
  ['core.fsmonitor', (ws, m) => git(ws, 'config', 'core.fsmonitor', `env > ${m}`)],
  ['core.hooksPath', (ws, m) => git(ws, 'config', 'core.hooksPath', hookDir(m, path.join(ws, '..', `hooks-${path.basename(m)}`)))],
  ['.git/hooks', (ws, m) => void hookDir(m, path.join(ws, '.git', 'hooks'))],
  ['core.pager', (ws, m) => git(ws, 'config', 'core.pager', `env > ${m}; cat`)],
  ['pager.diff', (ws, m) => git(ws, 'config', 'pager.diff', `env > ${m}; cat`)],
  ['core.editor', (ws, m) => git(ws, 'config', 'core.editor', `env > ${m}`)],
  ['diff.external', (ws, m) => git(ws, 'config', 'diff.external', `env > ${m}; true`)],
  ['diff.<driver>.textconv', (ws, m) => {
    fs.writeFileSync(path.join(ws, '.gitattributes'), '* diff=evil\n');
    git(ws, 'config', 'diff.evil.textconv', `env > ${m}; cat`);
  }],
  ['diff.<driver>.command', (ws, m) => {
    fs.writeFileSync(path.join(ws, '.gitattributes'), '* diff=evil\n');
    git(ws, 'config', 'diff.evil.command', `env > ${m}; true`);
  }],
  ['filter.<driver>.clean', (ws, m) => {
    fs.writeFileSync(path.join(ws, '.gitattributes'), '* filter=evil\n');
    git(ws, 'config', 'filter.evil.clean', `env > ${m}; cat`);
    git(ws, 'config', 'filter.evil.required', 'true');
  }],
  ['filter.<driver>.process (info/attributes)', (ws, m) => {
    fs.writeFileSync(path.join(ws, '.git', 'info', 'attributes'), '* filter=Evil.Driver\n');
    git(ws, 'config', 'filter.Evil.Driver.process', `sh -c 'env > ${m}; exit 1'`);
  }],
  ['filter via include.path', (ws, m) => {
    const inc = path.join(ws, '..', `inc-${path.basename(m)}`);
    fs.writeFileSync(inc, `[filter "inc"]\n\tclean = env > ${m}; cat\n`);
    fs.writeFileSync(path.join(ws, '.gitattributes'), '* filter=inc\n');
    git(ws, 'config', 'include.path', inc);
  }],
];

async function cloneSession(): Promise<{ id: string; ws: string }> {
  const r = await call(t.app, 'POST', '/api/sessions', { project_type: 'github', repo_url: origin.url });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  const s = await workspaceSettled(t.app, r.body.id);
  assert.equal(s.metadata.workspace.state, 'ready', JSON.stringify(s));
  return { id: r.body.id, ws: s.metadata.workspace.path };
}

describe('the change scan and the diff route ignore repository-controlled commands', () => {
  for (const [name, plant] of scanCases) {
    test(name, async () => {
      const marker = markerFor(name);
      const { id, ws } = await cloneSession();
      fs.writeFileSync(path.join(ws, 'README.md'), '# changed by the session\n');
      fs.writeFileSync(path.join(ws, 'new.txt'), 'untracked\n');
      plant(ws, marker);

      const record = (await call(t.app, 'GET', `/api/sessions/${id}`)).body.metadata.workspace;
      const changes = await t.workspaces.afterTurn(record);
      const diff = await call(t.app, 'GET', `/api/sessions/${id}/diff`);
      assert.ok(!fs.existsSync(marker), `${name}: git ran the repository's command (${fs.existsSync(marker) ? fs.readFileSync(marker, 'utf8').split('\n').length : 0} env lines)`);
      // The scan still works (or fails cleanly): it never runs the planted command to get there.
      assert.equal(diff.status, 200, JSON.stringify(diff.body));
      assert.match(diff.body.diff, /\+# changed by the session/);
      assert.ok((changes as { files_changed?: number }).files_changed! >= 2, JSON.stringify(changes));
    });
  }
});

describe('worktree creation and cache fetches ignore repository-controlled commands', () => {
  test('a local base repository: hooks, core.hooksPath and a smudge filter do not run on `worktree add`', async () => {
    const marker = markerFor('worktree-local');
    const base = path.join(root, 'base-local');
    git(root, 'clone', '--quiet', origin.bare, base);
    hookDir(marker, path.join(base, '.git', 'hooks'));
    fs.writeFileSync(path.join(base, '.git', 'info', 'attributes'), '* filter=evil\n');
    git(base, 'config', 'filter.evil.smudge', `env > ${marker}; cat`);
    git(base, 'config', 'core.fsmonitor', `env > ${marker}`);
    const r = await call(t.app, 'POST', '/api/sessions', { project_type: 'worktree', base_repo: base });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    const ready = await workspaceSettled(t.app, r.body.id);
    assert.ok(fs.existsSync(path.join(ready.project_path, 'README.md')), JSON.stringify(ready));
    assert.ok(!fs.existsSync(marker), 'a command planted in the base repository ran');
  });

  test('the URL cache: upload-pack, ssh, proxy and hook settings planted in it do not run on the next fetch', async () => {
    const marker = markerFor('worktree-cache');
    const first = await call(t.app, 'POST', '/api/sessions', { project_type: 'worktree', base_repo: origin.url });
    assert.equal(first.status, 201, JSON.stringify(first.body));
    const cache = (await workspaceSettled(t.app, first.body.id)).metadata.workspace.base_repo as string;
    assert.equal(cache, path.join(t.workspaceManager!['config'].dir, 'cache', `${createHash('sha256').update(origin.url).digest('hex').slice(0, 24)}.git`));
    // A session can reach the cache (its worktree's .git points into it) and write its config and hooks.
    git(cache, 'config', 'remote.origin.uploadpack', `env > ${marker}; git-upload-pack`);
    git(cache, 'config', 'core.sshCommand', `env > ${marker}`);
    git(cache, 'config', 'core.gitProxy', `env > ${marker}`);
    git(cache, 'config', 'core.hooksPath', hookDir(marker, path.join(root, 'cache-hooks')));
    hookDir(marker, path.join(cache, 'hooks'));
    fs.writeFileSync(path.join(cache, 'info', 'attributes'), '* filter=evil\n');
    git(cache, 'config', 'filter.evil.smudge', `env > ${marker}; cat`);
    git(origin.work, 'commit', '--quiet', '--allow-empty', '-m', 'moved on');
    git(origin.work, 'push', '--quiet', origin.bare, 'main');

    const second = await call(t.app, 'POST', '/api/sessions', { project_type: 'worktree', base_repo: origin.url });
    assert.equal(second.status, 201, JSON.stringify(second.body));
    assert.equal((await workspaceSettled(t.app, second.body.id)).metadata.workspace.base_commit, git(origin.work, 'rev-parse', 'HEAD'), 'the cache was fetched');
    assert.ok(!fs.existsSync(marker), 'a command planted in the cache ran');
  });

  test('credential.helper planted in the cache does not run when the server asks for credentials', async () => {
    const marker = markerFor('credential-helper');
    const server = await startGitHttpServer(root, 'u', 'p4ssword');
    try {
      const url = `${server.url}/origin.git`;
      // 401 from the server (no credentials configured): the background preparation fails.
      const first = await call(t.app, 'POST', '/api/sessions', { project_type: 'worktree', base_repo: url });
      assert.equal(first.status, 201, JSON.stringify(first.body));
      assert.equal((await workspaceSettled(t.app, first.body.id)).metadata.workspace.state, 'failed');
      const cache = path.join(t.workspaceManager!['config'].dir, 'cache', `${createHash('sha256').update(url).digest('hex').slice(0, 24)}.git`);
      assert.ok(fs.existsSync(path.join(cache, 'HEAD')), 'the cache was made before the fetch failed');
      git(cache, 'config', 'credential.helper', `!env > ${marker}; echo username=u; echo password=p4ssword`);
      git(cache, 'config', `credential.${server.url}.helper`, `!env > ${marker}; echo username=u; echo password=p4ssword`);
      const second = await call(t.app, 'POST', '/api/sessions', { project_type: 'worktree', base_repo: url });
      assert.equal(second.status, 201, JSON.stringify(second.body));
      assert.equal((await workspaceSettled(t.app, second.body.id)).metadata.workspace.state, 'failed');
      assert.ok(!fs.existsSync(marker), 'the planted credential helper ran');
    } finally {
      await server.close();
    }
  });
});
