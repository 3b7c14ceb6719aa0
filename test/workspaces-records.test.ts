/**
 * Issue 9, points 12 and 21: a workspace record is written by the server only,
 * on every route, and a local folder must lie strictly inside ALLOWED_ROOTS and
 * outside the orchestrator's own folders.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { call, createTestApp, workspaceSettled, type TestApp } from './helpers/app.ts';
import { makeOrigin, tempRoot, testWorkspacesConfig, type Origin } from './helpers/git-repos.ts';

let root: string;
let origin: Origin;
let t: TestApp;
let victim: { id: string; path: string };
let dataDir: string;
let ccoHome: string;

before(async () => {
  root = tempRoot();
  origin = makeOrigin(root);
  dataDir = path.join(root, 'data');
  ccoHome = path.join(root, 'cco-home');
  fs.mkdirSync(dataDir);
  fs.mkdirSync(ccoHome);
  t = await createTestApp({ workspaces: testWorkspacesConfig(root, { protectedDirs: [dataDir, ccoHome] }) });
  // Another session's clone: the target a forged record would aim at.
  const made = await call(t.app, 'POST', '/api/sessions', { project_type: 'github', repo_url: origin.url });
  assert.equal(made.status, 201, JSON.stringify(made.body));
  const ready = await workspaceSettled(t.app, made.body.id);
  assert.equal(ready.metadata.workspace.state, 'ready', JSON.stringify(ready));
  victim = { id: made.body.id, path: ready.metadata.workspace.path };
});
after(async () => {
  await t.close();
  fs.rmSync(root, { recursive: true, force: true });
});

const forged = () => ({ kind: 'github', path: victim.path, cleanup: 'delete', owned: true, base_commit: origin.firstCommit });
const forgedE2b = { kind: 'e2b', path: '/home/user/workspace/x', cleanup: 'delete', owned: true, sandbox_id: 'someone-elses-sandbox' };

describe('metadata.workspace is written by the server only', () => {
  test('POST /api/sessions without a prompt: a forged record is refused (400) and nothing is stored', async () => {
    const before = (await call(t.app, 'GET', '/api/sessions?limit=200')).body.data.length;
    for (const workspace of [forged(), forgedE2b]) {
      const r = await call(t.app, 'POST', '/api/sessions', { project_path: '/srv/x', project_type: workspace.kind, metadata: { workspace } });
      assert.equal(r.status, 400, JSON.stringify(r.body));
      assert.equal(r.body.error.code, 'workspace_read_only');
    }
    assert.equal((await call(t.app, 'GET', '/api/sessions?limit=200')).body.data.length, before);
    assert.ok(fs.existsSync(victim.path), 'the other session\'s clone is still there');
  });

  test('POST /api/sessions that makes a workspace: a client record is refused (400)', async () => {
    const r = await call(t.app, 'POST', '/api/sessions', { project_type: 'github', repo_url: origin.url, metadata: { workspace: forged() } });
    assert.equal(r.status, 400, JSON.stringify(r.body));
    assert.equal(r.body.error.code, 'workspace_read_only');
  });

  test('PATCH /api/sessions/:id cannot set or replace metadata.workspace', async () => {
    const own = await call(t.app, 'POST', '/api/sessions', { project_path: '/srv/y', project_type: 'local' });
    for (const id of [own.body.id, victim.id]) {
      const r = await call(t.app, 'PATCH', `/api/sessions/${id}`, { metadata: { workspace: forged() } });
      assert.equal(r.status, 400);
      assert.equal(r.body.error.code, 'workspace_read_only');
    }
    assert.equal((await call(t.app, 'GET', `/api/sessions/${own.body.id}`)).body.metadata.workspace, undefined);
  });

  test('POST /api/sessions/:id/messages with run:true: a client record in the message metadata is refused (400)', async () => {
    const own = await call(t.app, 'POST', '/api/sessions', { project_path: '/srv/z', project_type: 'local' });
    const r = await call(t.app, 'POST', `/api/sessions/${own.body.id}/messages`, { direction: 'user', content: 'hi', run: true, metadata: { workspace: forged() } });
    assert.equal(r.status, 400, JSON.stringify(r.body));
    assert.equal(r.body.error.code, 'workspace_read_only');
    const s = (await call(t.app, 'GET', `/api/sessions/${own.body.id}`)).body;
    assert.equal(s.metadata.workspace, undefined);
    assert.equal(s.managed, false);
  });

  test('hook ingest creating a session never takes a workspace record from the payload', async () => {
    const r = await call(t.app, 'POST', '/api/hooks/SessionStart', { session_id: 'hook-forge-1', cwd: victim.path, source: 'startup', metadata: { workspace: forged() }, workspace: forged() });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const s = (await call(t.app, 'GET', `/api/sessions/${r.body.session_id}`)).body;
    assert.equal(s.metadata.workspace, undefined);
    const diff = await call(t.app, 'GET', `/api/sessions/${r.body.session_id}/diff`);
    assert.equal(diff.status, 404);
  });
});

describe('project_path: strictly inside a root, never the orchestrator\'s own folders', () => {
  // Through the manager, the check every route's workspace goes through (a refused path never starts Claude Code).
  const refused = (p: string) => async () => {
    await assert.rejects(
      t.workspaceManager!.prepare({ sessionId: '00000000-0000-4000-a000-000000000020', project_type: 'local', project_path: p }),
      (e: { statusCode?: number; code?: string }) => e.statusCode === 400 && e.code === 'path_not_allowed',
      p,
    );
  };

  test('WORKSPACES_DIR itself is refused', async () => refused(t.workspaceManager!['config'].dir)());
  test('a folder inside WORKSPACES_DIR (another session\'s clone) is refused', async () => refused(victim.path)());
  test('an allowed root itself is refused (only folders strictly inside)', async () => refused(root)());
  test('DATA_DIR, CCO_HOME and folders inside them are refused', async () => {
    fs.mkdirSync(path.join(dataDir, 'pg'), { recursive: true });
    for (const p of [dataDir, path.join(dataDir, 'pg'), ccoHome]) await refused(p)();
  });
  test('a folder inside the root that does not hold an orchestrator folder is accepted', async () => {
    const ok = path.join(root, 'project');
    fs.mkdirSync(ok, { recursive: true });
    const record = await t.workspaceManager!.prepare({ sessionId: '00000000-0000-4000-a000-000000000021', project_type: 'local', project_path: ok });
    assert.equal(record.path, ok);
  });
  test('worktree base_repo and file:// URLs obey the same rule', async () => {
    const r1 = await call(t.app, 'POST', '/api/sessions', { project_type: 'worktree', base_repo: victim.path });
    assert.equal(r1.status, 400, JSON.stringify(r1.body));
    assert.equal(r1.body.error.code, 'path_not_allowed');
    const r2 = await call(t.app, 'POST', '/api/sessions', { project_type: 'github', repo_url: `file://${victim.path}` });
    assert.equal(r2.status, 400, JSON.stringify(r2.body));
    assert.equal(r2.body.error.code, 'path_not_allowed');
  });
});
