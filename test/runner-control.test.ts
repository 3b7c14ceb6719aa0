import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { call } from './helpers/app.ts';
import { allLogs, allMessages, createRunnerHarness, waitFor, waitIdle, type RunnerHarness } from './helpers/runner.ts';

let h: RunnerHarness;
before(async () => {
  h = await createRunnerHarness();
});
after(async () => {
  await h.close();
});

/** Waits until the model server has told Claude Code to run the long `sleep` tool, and the tool has had time to start. */
async function sleepToolStarted(count = 1) {
  await waitFor('sleep tool requested', async () => h.model.requests.filter((r) => r.reply === 'sleep#0').length >= count);
  await new Promise((r) => setTimeout(r, 800));
}

async function turnsOf(id: string) {
  return (await call(h.t.app, 'GET', `/api/sessions/${id}/turns`)).body.data as { id: number; status: string; started_at: string; ended_at: string; prompt: string }[];
}

describe('continue', () => {
  test('a user message runs the next turn with full context (resume of the same Claude session)', async () => {
    const created = await call(h.t.app, 'POST', '/api/sessions', { prompt: 'SCRIPT:bash' });
    const first = await waitIdle(h.t, created.body.id, 1);
    const before = h.model.requests.length;
    const msg = await call(h.t.app, 'POST', `/api/sessions/${first.id}/messages`, { direction: 'user', content: 'what did you print?', source: 'dashboard' });
    assert.equal(msg.status, 201);
    assert.ok(msg.body.turn.id > 0);
    const second = await waitIdle(h.t, first.id, 2);
    assert.equal(second.claude_session_id, first.claude_session_id, 'same Claude Code session');
    const messages = await allMessages(h.t, first.id);
    assert.deepEqual(messages.slice(2).map((m) => [m.direction, m.content, m.source]), [
      ['user', 'what did you print?', 'dashboard'],
      ['assistant', 'Done: what did you print?', 'dashboard'],
    ]);
    // The model saw the earlier turn: the resumed request carries the first prompt and its tool result.
    const resumed = JSON.stringify(h.model.requests.slice(before).map((r) => r.body));
    assert.match(resumed, /SCRIPT:bash/);
    assert.match(resumed, /hello-from-bash/);
    assert.ok(second.totals.cost_usd > first.totals.cost_usd);
  });

  test('messages sent while a turn runs are queued and run one after another', async () => {
    const script = JSON.stringify([{ tool: 'Bash', input: { command: 'echo slow', description: 'x' }, delay_ms: 1500 }, { text: 'first done' }]);
    const created = await call(h.t.app, 'POST', '/api/sessions', { prompt: `SCRIPT_JSON:${script}`, allowed_tools: ['Bash'] });
    const id = created.body.id;
    // The turn goes to the queue; the runner takes it a moment later.
    assert.equal(created.body.turn.state, 'queued');
    await waitFor('the first turn running', async () => (await call(h.t.app, 'GET', `/api/sessions/${id}`)).body.turn_state === 'running');
    const m2 = await call(h.t.app, 'POST', `/api/sessions/${id}/messages`, { direction: 'user', content: 'second' });
    const m3 = await call(h.t.app, 'POST', `/api/sessions/${id}/messages`, { direction: 'user', content: 'third' });
    assert.equal(m2.body.turn.state, 'queued');
    assert.equal(m3.body.turn.state, 'queued');
    const during = await call(h.t.app, 'GET', `/api/sessions/${id}`);
    assert.equal(during.body.turn_state, 'running');
    await waitIdle(h.t, id, 3);
    const turns = await turnsOf(id);
    assert.deepEqual(turns.map((t) => [t.prompt.startsWith('SCRIPT_JSON') ? 'first' : t.prompt, t.status]), [
      ['first', 'completed'],
      ['second', 'completed'],
      ['third', 'completed'],
    ]);
    for (let i = 1; i < turns.length; i++) assert.ok(turns[i]!.started_at >= turns[i - 1]!.ended_at, 'never two turns of one session at once');
    const texts = (await allMessages(h.t, id)).filter((m) => m.direction === 'assistant').map((m) => m.content);
    assert.deepEqual(texts, ['first done', 'Done: second', 'Done: third']);
  });
});

describe('control', () => {
  test('pause interrupts the running turn at once, keeps its partial log, holds queued messages; resume runs them', async () => {
    const created = await call(h.t.app, 'POST', '/api/sessions', { prompt: 'SCRIPT:sleep', allowed_tools: ['Bash'] });
    const id = created.body.id;
    await sleepToolStarted();
    const t0 = Date.now();
    const paused = await call(h.t.app, 'PATCH', `/api/sessions/${id}`, { status: 'paused' });
    assert.equal(paused.status, 200);
    assert.equal(paused.body.status, 'paused');
    await waitFor('interrupted turn', async () => (await turnsOf(id))[0]?.status === 'interrupted');
    assert.ok(Date.now() - t0 < 10_000, 'interrupt took effect promptly');
    const logs = await allLogs(h.t, id);
    assert.equal(logs.length, 1);
    assert.equal(logs[0]!.tool, 'Bash');
    assert.equal(logs[0]!.status, 'error');
    const system = (await allMessages(h.t, id)).filter((m) => m.direction === 'system');
    assert.match(system.at(-1)!.content, /paused/);

    const held = await call(h.t.app, 'POST', `/api/sessions/${id}/messages`, { direction: 'user', content: 'after pause' });
    assert.equal(held.body.turn.state, 'queued');
    await new Promise((r) => setTimeout(r, 1500));
    const stillHeld = await call(h.t.app, 'GET', `/api/sessions/${id}`);
    assert.equal(stillHeld.body.turn_state, 'queued');
    assert.equal((await turnsOf(id))[1]!.status, 'queued');

    await call(h.t.app, 'PATCH', `/api/sessions/${id}`, { status: 'active' });
    await waitIdle(h.t, id, 2);
    const texts = (await allMessages(h.t, id)).filter((m) => m.direction === 'assistant').map((m) => m.content);
    assert.deepEqual(texts, ['Done: after pause']);
  });

  test('completing a session interrupts its turn, cancels queued ones and refuses new turns', async () => {
    const created = await call(h.t.app, 'POST', '/api/sessions', { prompt: 'SCRIPT:sleep', allowed_tools: ['Bash'] });
    const id = created.body.id;
    await sleepToolStarted(2);
    await call(h.t.app, 'POST', `/api/sessions/${id}/messages`, { direction: 'user', content: 'never runs' });
    const done = await call(h.t.app, 'PATCH', `/api/sessions/${id}`, { status: 'completed' });
    assert.equal(done.body.status, 'completed');
    await waitFor('turns settled', async () => {
      const turns = await turnsOf(id);
      return turns[0]!.status === 'interrupted' && turns[1]!.status === 'cancelled';
    });
    const refused = await call(h.t.app, 'POST', `/api/sessions/${id}/messages`, { direction: 'user', content: 'more' });
    assert.equal(refused.status, 409);
    assert.equal(refused.body.error.code, 'session_completed');
  });

  test('a turn past its timeout is stopped with a clear system message', async () => {
    const created = await call(h.t.app, 'POST', '/api/sessions', { prompt: 'SCRIPT:sleep', allowed_tools: ['Bash'], timeout_s: 3 });
    const id = created.body.id;
    await waitFor('timed out', async () => (await turnsOf(id))[0]?.status === 'timed_out', 30_000);
    const system = (await allMessages(h.t, id)).filter((m) => m.direction === 'system');
    assert.match(system.at(-1)!.content, /3 s time limit/);
    const s = await waitIdle(h.t, id, 1);
    assert.equal(s.status, 'active', 'a timeout does not close the session');
  });
});

describe('bad input', () => {
  test('run options and messages are validated', async () => {
    for (const body of [
      { prompt: '' },
      { prompt: 'x', permission_mode: 'yolo' },
      { prompt: 'x', allowed_tools: 'Bash' },
      { prompt: 'x', max_turns: 0 },
      { prompt: 'x', timeout_s: -1 },
      { prompt: 'x', project_path: '/does/not/exist/anywhere' },
      { project_type: 'local' },
    ]) {
      const r = await call(h.t.app, 'POST', '/api/sessions', body);
      assert.equal(r.status, 400, JSON.stringify(body));
      assert.ok(r.body.error.code);
    }
    const sessions = await call(h.t.app, 'GET', '/api/sessions?limit=200');
    assert.ok(!sessions.body.data.some((s: { project_path: string }) => s.project_path === '/does/not/exist/anywhere'), 'nothing half-written');
  });
});
