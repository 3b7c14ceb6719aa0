import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { loadConfig } from '../src/config.ts';
import { createLogger } from '../src/logger.ts';
import { startServer } from '../src/main.ts';
import { startModelServer } from '../src/model-server/server.ts';
import { claudeTestEnv } from './helpers/claude.ts';
import { createPgDatabase, TEST_BACKEND } from './helpers/db.ts';
import { waitFor } from './helpers/runner.ts';
import { pidsWithEnv, startServeProcess } from './helpers/serve.ts';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
const get = (url: string): Promise<Json> => fetch(url).then((r) => r.json() as Promise<Json>);
const post = (url: string, body: unknown): Promise<Json> =>
  fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }).then((r) => r.json() as Promise<Json>);

test('after kill -9 of the server: Claude Code dies with it, the turn is marked interrupted, and the session continues', async () => {
  const model = await startModelServer({ port: 0 });
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cco-crash-'));
  const pg = TEST_BACKEND === 'postgres' ? await createPgDatabase() : undefined;
  const env: Record<string, string> = {
    ...(claudeTestEnv({ baseUrl: model.url, configDir: path.join(dataDir, 'claude') }) as Record<string, string>),
    DATA_DIR: dataDir,
    WORKSPACES_DIR: path.join(dataDir, 'ws'),
    DATABASE_URL: pg?.url ?? '',
  };
  try {
    const a = await startServeProcess(env);
    const created = await post(`${a.url}/api/sessions`, { prompt: 'SCRIPT:sleep', allowed_tools: ['Bash'] });
    await waitFor('sleep tool running', async () => model.requests.some((r) => r.reply === 'sleep#0'));
    const running = await waitFor('claude processes', async () => {
      const pids = pidsWithEnv('CCO_SESSION_ID', created.id);
      return pids.length >= 2 ? pids : undefined; // claude and its Bash tool
    });

    a.child.kill('SIGKILL');
    await new Promise<void>((r) => a.child.on('exit', () => r()));
    const claudePid = running[0]!;
    await waitFor('claude gone with the server', async () => !pidsWithEnv('CCO_SESSION_ID', created.id).includes(claudePid), 10_000);

    // Restart in-process on the same database.
    const config = loadConfig({ ...env, PORT: '0', LOG_LEVEL: 'silent' });
    const b = await startServer(config, createLogger('silent', { pretty: false }));
    try {
      assert.deepEqual(pidsWithEnv('CCO_SESSION_ID', created.id), [], 'nothing of the old turn outlives the restart');
      const turns = await get(`${b.url}/api/sessions/${created.id}/turns`);
      assert.equal(turns.data[0].status, 'interrupted');
      const messages = await get(`${b.url}/api/sessions/${created.id}/messages`);
      assert.match(messages.data.at(-1).content, /server stopped/);
      const session = await get(`${b.url}/api/sessions/${created.id}`);
      assert.equal(session.turn_state, 'idle');

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
    await model.close();
    await pg?.drop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
});

test('a graceful stop records running turns as interrupted and keeps queued ones for the next start', async () => {
  const model = await startModelServer({ port: 0 });
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cco-stop-'));
  const pg = TEST_BACKEND === 'postgres' ? await createPgDatabase() : undefined;
  const env: Record<string, string> = {
    ...(claudeTestEnv({ baseUrl: model.url, configDir: path.join(dataDir, 'claude') }) as Record<string, string>),
    DATA_DIR: dataDir,
    WORKSPACES_DIR: path.join(dataDir, 'ws'),
    DATABASE_URL: pg?.url ?? '',
    PORT: '0',
    LOG_LEVEL: 'silent',
  };
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
    await model.close();
    await pg?.drop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
});

