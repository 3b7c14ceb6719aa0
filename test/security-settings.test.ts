/**
 * Issue 9, point 14: bypassPermissions and IS_SANDBOX=1 are opt-in
 * (ALLOW_DANGEROUS_MODES, default off), for sessions, the server default and
 * the env file.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { ConfigError, loadConfig } from '../src/config.ts';
import { call, createTestApp } from './helpers/app.ts';
import { makeOrigin, tempRoot, testWorkspacesConfig } from './helpers/git-repos.ts';
import { waitFor } from './helpers/runner.ts';
import { createTestDb } from './helpers/db.ts';

test('DEFAULT_PERMISSION_MODE=bypassPermissions is refused at start unless ALLOW_DANGEROUS_MODES is on', () => {
  assert.throws(() => loadConfig({ DEFAULT_PERMISSION_MODE: 'bypassPermissions' }), (e: unknown) => e instanceof ConfigError && /ALLOW_DANGEROUS_MODES/.test(e.message));
  const on = loadConfig({ DEFAULT_PERMISSION_MODE: 'bypassPermissions', ALLOW_DANGEROUS_MODES: 'true' });
  assert.equal(on.runner.defaultPermissionMode, 'bypassPermissions');
  assert.equal(on.runner.allowDangerousModes, true);
  assert.equal(loadConfig({}).runner.allowDangerousModes, false);
});

test('a session asking for bypassPermissions gets 400 unless the server allows it', async () => {
  const root = tempRoot();
  const origin = makeOrigin(root);
  const off = await createTestApp({ workspaces: testWorkspacesConfig(root) });
  const on = await createTestApp({ workspaces: testWorkspacesConfig(root), runner: { allowDangerousModes: true } });
  try {
    const body = { project_type: 'github', repo_url: origin.url, permission_mode: 'bypassPermissions' };
    const refused = await call(off.app, 'POST', '/api/sessions', body);
    assert.equal(refused.status, 400, JSON.stringify(refused.body));
    assert.equal(refused.body.error.code, 'dangerous_mode_disabled');
    assert.match(refused.body.error.message, /ALLOW_DANGEROUS_MODES/);
    assert.equal((await call(off.app, 'GET', '/api/sessions')).body.data.length, 0, 'nothing stored');
    assert.deepEqual(fs.readdirSync(off.workspacesDir).filter((f) => f !== 'cache'), [], 'no workspace made');

    const allowed = await call(on.app, 'POST', '/api/sessions', body);
    assert.equal(allowed.status, 201, JSON.stringify(allowed.body));
    assert.equal(allowed.body.run_options.permission_mode, 'bypassPermissions');
  } finally {
    await off.close();
    await on.close();
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test('IS_SANDBOX in CLAUDE_ENV_FILE stops the server at start unless ALLOW_DANGEROUS_MODES is on', async () => {
  const root = tempRoot();
  const envFile = path.join(root, 'claude.env');
  fs.writeFileSync(envFile, 'ANTHROPIC_API_KEY=sk-test-123456\nIS_SANDBOX=1\n');
  try {
    await assert.rejects(createTestApp({ runner: { envFile } }), /IS_SANDBOX.*ALLOW_DANGEROUS_MODES/);
    const on = await createTestApp({ runner: { envFile, allowDangerousModes: true } });
    await on.close();
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test('a session stored with bypassPermissions does not run it once the server no longer allows it', async () => {
  const root = tempRoot();
  const origin = makeOrigin(root);
  const db = await createTestDb();
  const on = await createTestApp({ workspaces: testWorkspacesConfig(root), runner: { allowDangerousModes: true }, db });
  let id: string;
  try {
    const made = await call(on.app, 'POST', '/api/sessions', { project_type: 'github', repo_url: origin.url, permission_mode: 'bypassPermissions' });
    assert.equal(made.status, 201, JSON.stringify(made.body));
    id = made.body.id;
  } finally {
    await on.close();
  }
  // The same database, restarted with the default (off): the turn fails before Claude Code starts.
  const off = await createTestApp({ workspaces: testWorkspacesConfig(root), db });
  try {
    const sent = await call(off.app, 'POST', `/api/sessions/${id}/messages`, { direction: 'user', content: 'rm -rf everything' });
    assert.equal(sent.status, 201, JSON.stringify(sent.body));
    const turn = await waitFor('the turn to end', async () => {
      const t = (await call(off.app, 'GET', `/api/sessions/${id}/turns`)).body.data[0];
      return t && t.status !== 'queued' && t.status !== 'running' ? t : undefined;
    });
    assert.equal(turn.status, 'error');
    assert.match(turn.error, /ALLOW_DANGEROUS_MODES/);
    assert.equal((await call(off.app, 'GET', `/api/sessions/${id}`)).body.claude_session_id, null, 'Claude Code never started');
  } finally {
    await off.close();
    await db.close();
    fs.rmSync(root, { recursive: true, force: true });
  }
});
