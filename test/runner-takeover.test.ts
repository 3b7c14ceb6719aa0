import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { call } from './helpers/app.ts';
import { allMessages, createRunnerHarness, waitIdle, type RunnerHarness } from './helpers/runner.ts';

let h: RunnerHarness;
before(async () => {
  h = await createRunnerHarness();
});
after(async () => {
  await h.close();
});

test('run:true takes over a record-only session whose folder is inside the allowed roots', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cco-takeover-'));
  const s = await call(h.t.app, 'POST', '/api/sessions', { project_path: dir });
  assert.equal(s.body.managed, false);
  const stored = await call(h.t.app, 'POST', `/api/sessions/${s.body.id}/messages`, { direction: 'user', content: 'just a note' });
  assert.equal(stored.body.turn, undefined, 'a record-only session only stores messages');
  const run = await call(h.t.app, 'POST', `/api/sessions/${s.body.id}/messages`, { direction: 'user', content: 'now run', run: true });
  assert.equal(run.status, 201);
  const done = await waitIdle(h.t, s.body.id, 1);
  assert.equal(done.managed, true);
  assert.equal((await allMessages(h.t, s.body.id)).at(-1)!.content, 'Done: now run');
  fs.rmSync(dir, { recursive: true, force: true });
});

test('run:true refuses a stored path outside the allowed roots; metadata.workspace cannot be rewritten', async () => {
  const s = await call(h.t.app, 'POST', '/api/sessions', { project_path: '/etc' });
  const run = await call(h.t.app, 'POST', `/api/sessions/${s.body.id}/messages`, { direction: 'user', content: 'run in /etc', run: true });
  assert.equal(run.status, 400);
  const after = await call(h.t.app, 'GET', `/api/sessions/${s.body.id}`);
  assert.equal(after.body.managed, false);
  assert.equal((await call(h.t.app, 'GET', `/api/sessions/${s.body.id}/turns`)).body.data.length, 0, 'no turn was queued');

  const managed = await call(h.t.app, 'POST', '/api/sessions', { prompt: 'SCRIPT:text' });
  await waitIdle(h.t, managed.body.id, 1);
  const patch = await call(h.t.app, 'PATCH', `/api/sessions/${managed.body.id}`, { metadata: { workspace: { kind: 'local', path: '/etc', cleanup: 'keep', owned: false } } });
  assert.equal(patch.status, 400);
  assert.equal(patch.body.error.code, 'workspace_read_only');
  const unchanged = await call(h.t.app, 'GET', `/api/sessions/${managed.body.id}`);
  assert.notEqual(unchanged.body.metadata.workspace.path, '/etc');
});
