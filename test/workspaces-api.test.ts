/** GET /api/sessions/:id/diff and /workspace through the real app (inject). */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { SessionService } from '../src/sessions/service.ts';
import type { WorkspaceManager } from '../src/workspaces/manager.ts';
import { call, createTestApp, type TestApp } from './helpers/app.ts';
import { makeOrigin, tempRoot, testWorkspacesConfig, type Origin } from './helpers/git-repos.ts';

let root: string;
let origin: Origin;
let t: TestApp;
let sessions: SessionService;
let manager: WorkspaceManager;

before(async () => {
  root = tempRoot();
  origin = makeOrigin(root);
  t = await createTestApp({ workspaces: testWorkspacesConfig(root) });
  sessions = t.sessions;
  manager = t.workspaceManager!;
});
after(async () => {
  await t.close();
  fs.rmSync(root, { recursive: true, force: true });
});

describe('workspace routes', () => {
  test('diff and disk use of a clone; 409 once it is cleaned up; 404 without a workspace', async () => {
    const record = await manager.prepare({ sessionId: '00000000-0000-4000-d000-000000000001', project_type: 'github', repo_url: origin.url });
    const s = await sessions.create({ project_path: record.path, project_type: 'github', metadata: { workspace: record } });
    fs.writeFileSync(path.join(record.path, 'README.md'), '# changed\n');

    const d = await call(t.app, 'GET', `/api/sessions/${s.id}/diff`);
    assert.equal(d.status, 200);
    assert.equal(d.body.base_commit, origin.mainCommit);
    assert.match(d.body.diff, /-# demo\n\+# changed/);
    assert.equal(d.body.truncated, false);

    const w = await call(t.app, 'GET', `/api/sessions/${s.id}/workspace`);
    assert.equal(w.status, 200);
    assert.equal(w.body.workspace.path, record.path);
    assert.ok(w.body.disk_usage_bytes > 0);

    await manager.releaseWith(record, 'delete');
    const gone = await call(t.app, 'GET', `/api/sessions/${s.id}/diff`);
    assert.equal(gone.status, 409);
    assert.equal(gone.body.error.code, 'workspace_gone');
    assert.equal((await call(t.app, 'GET', `/api/sessions/${s.id}/workspace`)).body.disk_usage_bytes, null);

    const bare = await sessions.create({ project_path: '/srv/x', project_type: 'local' });
    const none = await call(t.app, 'GET', `/api/sessions/${bare.id}/diff`);
    assert.equal(none.status, 404);
    assert.equal(none.body.error.code, 'no_workspace');
    assert.equal((await call(t.app, 'GET', '/api/sessions/00000000-0000-4000-d000-00000000ffff/diff')).status, 404);
  });
});
