/**
 * End to end through the HTTP API: a session on each workspace type runs the
 * real Claude Code binary against the scripted model server (e2b through the
 * local E2B stand-in), the turn's changes are recorded, the diff and disk use
 * are served, and completing the session applies its cleanup policy.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { call } from './helpers/app.ts';
import { claudeBinaryPath } from './helpers/claude.ts';
import { startE2bStandIn, type E2bStandIn } from './helpers/e2b-standin.ts';
import { git, makeOrigin, tempRoot, testWorkspacesConfig, type Origin } from './helpers/git-repos.ts';
import { createRunnerHarness, waitFor, waitIdle, type RunnerHarness } from './helpers/runner.ts';

let root: string;
let origin: Origin;
let standIn: E2bStandIn;
let h: RunnerHarness;

before(async () => {
  root = tempRoot();
  origin = makeOrigin(root);
  standIn = await startE2bStandIn();
  const ws = testWorkspacesConfig(root);
  h = await createRunnerHarness({
    workspaces: {
      ...ws,
      e2b: { ...ws.e2b, apiKey: standIn.apiKey, apiUrl: standIn.url, sandboxUrl: standIn.url, workdir: path.join(root, 'sandbox-fs'), claudeCommand: claudeBinaryPath() },
    },
  });
});
after(async () => {
  await h.close();
  await standIn.close();
  fs.rmSync(root, { recursive: true, force: true });
});

const cases = () => [
  { name: 'local (an allowed existing folder)', body: { project_type: 'local', project_path: makeOrigin(root, `local-${Date.now()}`).work, cleanup: 'delete' }, gone: false },
  { name: 'local (a new folder)', body: { project_type: 'local', cleanup: 'delete' }, gone: true },
  { name: 'github', body: { project_type: 'github', repo_url: origin.url, ref: 'feature', cleanup: 'delete' }, gone: true },
  { name: 'worktree', body: { project_type: 'worktree', base_repo: origin.work, cleanup: 'archive' }, gone: true },
  { name: 'e2b', body: { project_type: 'e2b', repo_url: origin.url, cleanup: 'delete' }, gone: true },
];

describe('a session on each workspace type', () => {
  for (const c of cases()) {
    test(c.name, { timeout: 120_000 }, async () => {
      const created = await call(h.t.app, 'POST', '/api/sessions', { prompt: 'SCRIPT:write-edit', ...c.body });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      // Local folders are made inside the request; clones, worktrees and sandboxes in the background.
      assert.equal(created.body.metadata.workspace.state, c.body.project_type === 'local' ? 'ready' : 'preparing');
      const s = await waitIdle(h.t, created.body.id, 1, 90_000);
      const workspace = s.metadata.workspace;
      assert.equal(workspace.kind, c.body.project_type);
      assert.equal(workspace.state, 'ready');
      assert.equal(s.project_path, workspace.path);

      assert.equal(s.status, 'active');
      assert.equal(fs.readFileSync(path.join(workspace.path, 'notes.txt'), 'utf8'), 'hello from edit\n', 'Claude Code edited the workspace');
      const changes = s.metadata.workspace.changes;
      assert.equal(changes.files_changed, 1, JSON.stringify(changes));
      assert.deepEqual(changes.files, [{ path: 'notes.txt', added: 1, removed: 0 }]);
      assert.equal(typeof changes.commit === 'string' || changes.commit === null, true);

      const diff = await call(h.t.app, 'GET', `/api/sessions/${s.id}/diff`);
      assert.equal(diff.status, 200);
      assert.match(diff.body.diff, /\+\+\+ b\/notes.txt\n@@ .* @@\n\+hello from edit/);
      const usage = await call(h.t.app, 'GET', `/api/sessions/${s.id}/workspace`);
      assert.ok(usage.body.disk_usage_bytes > 0);

      const done = await call(h.t.app, 'PATCH', `/api/sessions/${s.id}`, { status: 'completed' });
      assert.equal(done.status, 200);
      if (c.body.project_type === 'e2b') {
        await waitFor('sandbox killed', async () => standIn.sandboxes.get(workspace.sandbox_id)?.alive === false);
      } else if (c.gone) {
        await waitFor('workspace removed', async () => !fs.existsSync(workspace.path));
      } else {
        // Never removed: the folder is the user's, whatever cleanup said.
        await new Promise((r) => setTimeout(r, 300));
        assert.ok(fs.existsSync(path.join(workspace.path, 'notes.txt')));
      }
      if (c.body.project_type === 'worktree') {
        git(origin.work, 'fsck', '--full', '--strict');
        assert.equal(git(origin.work, 'status', '--porcelain'), '', 'the base repository is untouched');
        assert.ok(fs.readdirSync(path.join(root, 'workspaces', 'archives')).some((f) => f.startsWith('worktree-')));
      }
    });
  }

  test('bad workspace input through the API is a 400 and creates nothing', async () => {
    const before = (await call(h.t.app, 'GET', '/api/sessions?limit=200')).body.data.length;
    for (const body of [
      { prompt: 'x', project_type: 'github', repo_url: '--upload-pack=touch /tmp/x' },
      { prompt: 'x', project_type: 'github', repo_url: origin.url, ref: '-b' },
      { prompt: 'x', project_type: 'worktree', base_repo: '/etc' },
      { prompt: 'x', project_type: 'local', project_path: '/etc' },
      { prompt: 'x', project_type: 'github' },
      { prompt: 'x', project_type: 'github', repo_url: origin.url, cleanup: 'shred' },
    ]) {
      const r = await call(h.t.app, 'POST', '/api/sessions', body);
      assert.equal(r.status, 400, JSON.stringify(body));
      assert.match(r.body.error.code, /^[a-z_]+$/);
    }
    assert.equal((await call(h.t.app, 'GET', '/api/sessions?limit=200')).body.data.length, before);
  });
});
