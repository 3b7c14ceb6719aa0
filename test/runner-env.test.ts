import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { sql } from 'kysely';
import { call } from './helpers/app.ts';
import { allLogs, createRunnerHarness, waitFor, waitIdle } from './helpers/runner.ts';

test('at most MAX_CONCURRENT_RUNS turns run at once; the rest start first-in first-out', async () => {
  const h = await createRunnerHarness({ runner: { maxConcurrentRuns: 2 } });
  try {
    const script = JSON.stringify([{ tool: 'Bash', input: { command: 'echo p', description: 'x' }, delay_ms: 700 }, { text: 'ok' }]);
    const created: Array<{ id: string; turn: { state: string } }> = [];
    for (let i = 0; i < 5; i++) {
      created.push((await call(h.t.app, 'POST', '/api/sessions', { prompt: `SCRIPT_JSON:${script}`, allowed_tools: ['Bash'], metadata: { i } })).body);
    }
    // Every turn goes to the queue; the runner takes two, the others wait their turn in order.
    assert.ok(created.every((c) => c.turn.state === 'queued'));
    const states = await waitFor('two turns running', async () => {
      const now = await Promise.all(created.map(async (c) => (await call(h.t.app, 'GET', `/api/sessions/${c.id}`)).body));
      return now.filter((s) => s.turn_state === 'running').length === 2 ? now : undefined;
    });
    assert.deepEqual(states.map((s) => s.turn_state), ['running', 'running', 'queued', 'queued', 'queued']);
    assert.deepEqual(states.slice(2).map((s) => s.queue_position), [1, 2, 3]);

    for (const c of created) await waitIdle(h.t, c.id, 1, 90_000);
    const turns = [];
    for (const c of created) turns.push((await call(h.t.app, 'GET', `/api/sessions/${c.id}/turns`)).body.data[0]);
    assert.ok(turns.every((t) => t.status === 'completed'));
    const events = turns.flatMap((t) => [
      { at: Date.parse(t.started_at), d: 1 },
      { at: Date.parse(t.ended_at), d: -1 },
    ]).sort((a, b) => a.at - b.at || a.d - b.d);
    let live = 0;
    let peak = 0;
    for (const e of events) peak = Math.max(peak, (live += e.d));
    assert.ok(peak <= 2, `peak concurrency ${peak}`);
    const starts = turns.map((t) => Date.parse(t.started_at));
    assert.ok(starts[2]! <= starts[3]! && starts[3]! <= starts[4]!, 'queued turns start in arrival order');
  } finally {
    await h.close();
  }
});

test('Claude Code gets the API key and the env file, and secrets never reach the database', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cco-envfile-'));
  const envFile = path.join(dir, 'claude.env');
  fs.writeFileSync(envFile, '# deployment secrets\nexport MY_SERVICE_TOKEN="tok-abcdef123456"\n');
  const h = await createRunnerHarness({ runner: { envFile } });
  try {
    const script = JSON.stringify([
      { tool: 'Bash', input: { command: 'env; test -n "$MY_SERVICE_TOKEN" && echo has-service-token; echo "token=$MY_SERVICE_TOKEN"', description: 'print env' } },
      { text: 'done' },
    ]);
    const created = await call(h.t.app, 'POST', '/api/sessions', { prompt: `SCRIPT_JSON:${script}`, allowed_tools: ['Bash'] });
    await waitIdle(h.t, created.body.id, 1);
    const logs = await allLogs(h.t, created.body.id);
    assert.match(logs[0]!.result, /has-service-token/, 'the env file reached Claude Code');
    assert.match(logs[0]!.result, /ANTHROPIC_API_KEY=\[redacted\]/);
    assert.match(logs[0]!.result, /CCO_MANAGED_RUN=1/);
    assert.match(logs[0]!.result, /token=\[redacted\]/);
    const db = h.t.db.database.db;
    const dump = await sql<{ t: string }>`
      select coalesce((select string_agg(s::text, ' ') from sessions s), '') ||
             coalesce((select string_agg(m::text, ' ') from session_messages m), '') ||
             coalesce((select string_agg(l::text, ' ') from command_logs l), '') ||
             coalesce((select string_agg(t::text, ' ') from turns t), '') as t`.execute(db);
    const all = dump.rows[0]!.t;
    assert.ok(all.includes('[redacted]'));
    assert.ok(!all.includes('tok-abcdef123456'), 'env-file secret stored');
    assert.ok(!all.includes('sk-fake'), 'API key stored');
  } finally {
    await h.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("the user's own settings and hooks neither break nor duplicate the capture", async () => {
  const h = await createRunnerHarness();
  try {
    const url = await h.t.app.listen({ port: 0, host: '127.0.0.1' });
    const hookLog = path.join(h.configDir, 'user-hook.log');
    // A user who disabled hooks globally, yet also has a hook that posts every tool call to
    // this server (as a team install would): the runner must still capture every call, once.
    fs.writeFileSync(
      path.join(h.configDir, 'settings.json'),
      JSON.stringify({
        disableAllHooks: false,
        hooks: {
          PostToolUse: [{ hooks: [{ type: 'command', command: `tee -a ${hookLog} | curl -s -X POST -H 'content-type: application/json' --data-binary @- ${url}/api/hooks/tool-complete >/dev/null` }] }],
        },
      }),
    );
    const created = await call(h.t.app, 'POST', '/api/sessions', { prompt: 'SCRIPT:multi', allowed_tools: ['Bash'] });
    await waitIdle(h.t, created.body.id, 1);
    const logs = await allLogs(h.t, created.body.id);
    assert.equal(logs.length, 5, 'one row per tool call');
    assert.equal(new Set(logs.map((l) => l.tool_use_id)).size, 5);
    assert.equal(fs.readFileSync(hookLog, 'utf8').trim().split('\n').length, 5, "the user's hook ran for each call");
    const sessions = await call(h.t.app, 'GET', '/api/sessions?limit=200');
    assert.equal(sessions.body.data.length, 1, 'the hook events joined the runner session, no second session');

    fs.writeFileSync(path.join(h.configDir, 'settings.json'), JSON.stringify({ disableAllHooks: true }));
    const second = await call(h.t.app, 'POST', '/api/sessions', { prompt: 'SCRIPT:multi', allowed_tools: ['Bash'] });
    await waitIdle(h.t, second.body.id, 1);
    assert.equal((await allLogs(h.t, second.body.id)).length, 5, 'disableAllHooks does not stop the capture');
  } finally {
    await h.close();
  }
});
