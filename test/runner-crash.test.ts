import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { loadConfig } from '../src/config.ts';
import { createLogger } from '../src/logger.ts';
import { startServer } from '../src/main.ts';
import { claudeTestEnv } from './helpers/claude.ts';
import { call, createTestApp } from './helpers/app.ts';
import { allMessages, createRunnerHarness, waitFor, waitIdle } from './helpers/runner.ts';
import { pidsWithEnv, serverFixture, startServeProcess } from './helpers/serve.ts';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
const get = (url: string): Promise<Json> => fetch(url).then((r) => r.json() as Promise<Json>);
const post = (url: string, body: unknown): Promise<Json> =>
  fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }).then((r) => r.json() as Promise<Json>);

test('after kill -9 of the server: Claude Code dies with it, the turn is marked interrupted, and the session continues', async () => {
  const { model, env, cleanup } = await serverFixture('cco-crash-');
  try {
    const a = await startServeProcess(env);
    const created = await post(`${a.url}/api/sessions`, { prompt: 'SCRIPT:sleep', allowed_tools: ['Bash'] });
    await waitFor('sleep tool running', async () => model.requests.some((r) => r.reply === 'sleep#0'));
    const running = await waitFor('claude processes', async () => {
      const pids = pidsWithEnv('CCO_SESSION_ID', created.id, { notComm: 'bwrap' });
      return pids.length >= 2 ? pids : undefined; // claude and its Bash tool
    });

    a.child.kill('SIGKILL');
    await new Promise<void>((r) => a.child.on('exit', () => r()));
    const claudePid = running[0]!;
    await waitFor('claude gone with the server', async () => !pidsWithEnv('CCO_SESSION_ID', created.id).includes(claudePid), 10_000);

    // Restart in-process on the same database.
    const config = loadConfig({ ...env, PORT: '0', LOG_LEVEL: 'silent' });
    const b = await startServer(config, createLogger(process.env.TEST_LOG_LEVEL ?? 'silent', { pretty: false }));
    try {
      assert.deepEqual(pidsWithEnv('CCO_SESSION_ID', created.id), [], 'nothing of the old turn outlives the restart');
      // Alone on its embedded database, the new process reports the dead one's turn at once; beside
      // other processes (a PostgreSQL server) it waits for the turn's job lease to expire (issue 12: < 60 s).
      await waitFor('the turn reported interrupted', async () => (await get(`${b.url}/api/sessions/${created.id}/turns`)).data[0].status === 'interrupted', 60_000);
      const messages = await get(`${b.url}/api/sessions/${created.id}/messages`);
      assert.match(messages.data.at(-1).content, /the process running it stopped/);
      // The session's turn_state is the dispatcher's, set after the turn's end (src/db/queries/turn-dispatch.ts):
      // a moment after the turn reads interrupted, not in the same transaction (seen under a full suite's load).
      await waitFor('the session idle again', async () => (await get(`${b.url}/api/sessions/${created.id}`)).turn_state === 'idle', 10_000);

      await post(`${b.url}/api/sessions/${created.id}/messages`, { direction: 'user', content: 'carry on' });
      await waitFor('second turn', async () => {
        const s = await get(`${b.url}/api/sessions/${created.id}`);
        return s.totals.turns >= 2 && s.turn_state === 'idle';
      });
      const after = await get(`${b.url}/api/sessions/${created.id}/messages`);
      assert.equal(after.data.at(-1).content, 'Done: carry on');
      const resumedRequest = JSON.stringify(model.requests.at(-1)!.body);
      assert.match(resumedRequest, /SCRIPT:sleep/, 'the resumed turn had the earlier context');
    } finally {
      await b.stop();
    }
  } finally {
    await cleanup();
  }
});

test('a graceful stop records running turns as interrupted and keeps queued ones for the next start', async () => {
  const { model, env, cleanup } = await serverFixture('cco-stop-', { PORT: '0', LOG_LEVEL: 'silent' });
  const silent = createLogger('silent', { pretty: false });
  try {
    const a = await startServer(loadConfig(env), silent);
    const created = await post(`${a.url}/api/sessions`, { prompt: 'SCRIPT:sleep', allowed_tools: ['Bash'] });
    await waitFor('sleep tool running', async () => model.requests.some((r) => r.reply === 'sleep#0'));
    const queued = await post(`${a.url}/api/sessions/${created.id}/messages`, { direction: 'user', content: 'queued before stop' });
    assert.equal(queued.turn.state, 'queued');
    await a.stop();
    assert.deepEqual(pidsWithEnv('CCO_SESSION_ID', created.id), []);

    const b = await startServer(loadConfig(env), silent);
    try {
      await waitFor('queued turn ran after restart', async () => {
        const s = await get(`${b.url}/api/sessions/${created.id}`);
        return s.totals.turns >= 2 && s.turn_state === 'idle';
      });
      const turns = await get(`${b.url}/api/sessions/${created.id}/turns`);
      assert.deepEqual(turns.data.map((t: Json) => t.status), ['interrupted', 'completed']);
      const messages = await get(`${b.url}/api/sessions/${created.id}/messages`);
      assert.ok(messages.data.some((m: Json) => m.direction === 'system' && /shutting down/.test(m.content)));
      assert.equal(messages.data.at(-1).content, 'Done: queued before stop');
    } finally {
      await b.stop();
    }
  } finally {
    await cleanup();
  }
});


test('a turn whose Claude Code died before taking the prompt in runs again after a restart', async () => {
  const first = await createRunnerHarness();
  const db = first.t.db;
  let second: Awaited<ReturnType<typeof createTestApp>> | undefined;
  try {
    const created = await call(first.t.app, 'POST', '/api/sessions', { prompt: 'SCRIPT:text' });
    await waitIdle(first.t, created.body.id, 1);
    // The state a kill -9 leaves when it lands while Claude Code is still starting: the turn
    // is running, but Claude Code never reported system/init.
    await db.database.db
      .insertInto('turns')
      .values({ session_id: created.body.id, message_id: null, prompt: 'the prompt that must not be lost', source: 'api', status: 'running', started_at: new Date() })
      .execute();
    await first.t.runner.stop();
    await first.t.app.close();

    second = await createTestApp({ db, runner: { passEnv: claudeEnvOf(first) } });
    await waitIdle(second, created.body.id, 2);
    const turns = await call(second.app, 'GET', `/api/sessions/${created.body.id}/turns`);
    assert.deepEqual(turns.body.data.map((t: Json) => t.status), ['completed', 'completed']);
    const messages = await allMessages(second, created.body.id);
    assert.equal(messages.at(-1)!.content, 'Done: the prompt that must not be lost');
    assert.ok(!messages.some((m) => m.direction === 'system'), 'no interruption notice: the turn simply ran');
  } finally {
    await second?.close();
    await first.close();
  }
});

function claudeEnvOf(h: { model: { url: string }; configDir: string }): Record<string, string> {
  return claudeTestEnv({ baseUrl: h.model.url, configDir: h.configDir }) as Record<string, string>;
}

test('a session whose Claude Code transcript is gone continues in a new Claude session given the stored conversation', async () => {
  const h = await createRunnerHarness();
  try {
    const created = await call(h.t.app, 'POST', '/api/sessions', { prompt: 'hello there' });
    const first = await waitIdle(h.t, created.body.id, 1);
    // Lose the transcript, as a kill during start-up or a move to another machine would.
    const projects = path.join(h.configDir, 'projects');
    const removed = fs.readdirSync(projects, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith(`${first.claude_session_id}.jsonl`));
    assert.equal(removed.length, 1);
    for (const f of removed) fs.rmSync(path.join(projects, f));

    await call(h.t.app, 'POST', `/api/sessions/${first.id}/messages`, { direction: 'user', content: 'and now?' });
    const second = await waitIdle(h.t, first.id, 2);
    assert.notEqual(second.claude_session_id, first.claude_session_id, 'a new Claude Code session');
    const turns = await call(h.t.app, 'GET', `/api/sessions/${first.id}/turns`);
    assert.deepEqual(turns.body.data.map((t: Json) => t.status), ['completed', 'completed']);
    const messages = await allMessages(h.t, first.id);
    assert.ok(messages.some((m) => m.direction === 'system' && /could not find the transcript/.test(m.content)));
    const answer = messages.at(-1)!;
    assert.equal(answer.direction, 'assistant');
    assert.equal(answer.content, 'Done: and now?');
    // The new Claude Code session was handed the stored conversation before the new prompt.
    const handed = JSON.stringify(h.model.requests.at(-1)!.body);
    assert.match(handed, /User: hello there/);
    assert.match(handed, /Assistant: Done: hello there/);
    assert.match(handed, /<\/conversation>\\n\\nand now\?/);
  } finally {
    await h.close();
  }
});
