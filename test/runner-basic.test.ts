import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, before, test } from 'node:test';
import { call } from './helpers/app.ts';
import { allLogs, allMessages, createRunnerHarness, waitIdle, type RunnerHarness } from './helpers/runner.ts';

let h: RunnerHarness;
before(async () => {
  h = await createRunnerHarness();
});
after(async () => {
  await h.close();
});

test('a prompt starts Claude Code; prompt, answer, tool log, claude_session_id and totals are stored', async () => {
  const created = await call(h.t.app, 'POST', '/api/sessions', { prompt: 'SCRIPT:bash', source: 'n8n' });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  assert.equal(created.body.managed, true);
  assert.ok(created.body.turn.id > 0);
  assert.ok(created.body.project_path.startsWith(h.t.workspacesDir), 'a new folder under WORKSPACES_DIR');
  assert.ok(fs.statSync(created.body.project_path).isDirectory());
  const s = await waitIdle(h.t, created.body.id, 1);
  assert.match(s.claude_session_id, /^[0-9a-f-]{36}$/);
  assert.ok(s.totals.cost_usd > 0);
  assert.ok(s.totals.input_tokens > 0);
  assert.equal(s.totals.turns, 1);
  assert.equal(s.status, 'active');

  const messages = await allMessages(h.t, s.id);
  assert.deepEqual(messages.map((m) => [m.direction, m.content, m.source]), [
    ['user', 'SCRIPT:bash', 'n8n'],
    ['assistant', 'Finished script bash.', 'n8n'],
  ]);
  const logs = await allLogs(h.t, s.id);
  assert.equal(logs.length, 1);
  assert.equal(logs[0]!.tool, 'Bash');
  assert.equal(logs[0]!.status, 'completed');
  assert.equal(logs[0]!.input.command, 'echo hello-from-bash');
  assert.match(logs[0]!.result, /hello-from-bash/);
  assert.match(logs[0]!.tool_use_id, /^toolu_/);
  assert.ok(typeof logs[0]!.duration_ms === 'number');

  const turns = await call(h.t.app, 'GET', `/api/sessions/${s.id}/turns`);
  assert.equal(turns.body.data.length, 1);
  const turn = turns.body.data[0];
  assert.equal(turn.status, 'completed');
  assert.equal(turn.is_error, false);
  assert.ok(turn.cost_usd > 0);
  assert.equal(turn.num_turns, 2);
});

test('failing tools are logged as errors; the turn still completes', async () => {
  const created = await call(h.t.app, 'POST', '/api/sessions', { prompt: 'SCRIPT:fail', allowed_tools: ['Bash'] });
  assert.deepEqual(created.body.run_options.allowed_tools, ['Bash']);
  const s = await waitIdle(h.t, created.body.id, 1);
  const logs = await allLogs(h.t, s.id);
  assert.equal(logs.length, 1);
  assert.equal(logs[0]!.status, 'error');
  assert.match(logs[0]!.result, /Exit code 3/);
  assert.equal(s.status, 'active');
});

test('tools denied by permissions are logged as errors too (no hook fires for them)', async () => {
  const created = await call(h.t.app, 'POST', '/api/sessions', { prompt: 'SCRIPT:fail', permission_mode: 'default' });
  const s = await waitIdle(h.t, created.body.id, 1);
  const logs = await allLogs(h.t, s.id);
  assert.equal(logs.length, 1);
  assert.equal(logs[0]!.tool, 'Bash');
  assert.equal(logs[0]!.status, 'error');
  assert.match(logs[0]!.result, /requires approval|permission/i);
  assert.ok(logs[0]!.metadata.not_executed, JSON.stringify(logs[0]!.metadata));
});
