/**
 * Issue 12 end to end with real processes: `cco serve --role api` and `--role runner` over one
 * database (a PostgreSQL server, or the embedded backend's server reached by URL), sharing
 * WORKSPACES_DIR and CLAUDE_CONFIG_DIR as the scale-out guide says. The chaos test
 * (npm run test:chaos) covers the same under kill -9 at scale; these pin each point down.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import pg from 'pg';
import { startModelServer, type ModelServer } from '../src/model-server/server.ts';
import { claudeTestEnv } from './helpers/claude.ts';
import { createPgDatabase } from './helpers/db.ts';
import { waitFor } from './helpers/runner.ts';
import { startServeProcess, type ServeProcess } from './helpers/serve.ts';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
const get = (url: string): Promise<Json> => fetch(url).then((r) => r.json() as Promise<Json>);
const send = async (method: string, url: string, body: unknown): Promise<{ status: number; body: Json }> => {
  const r = await fetch(url, { method, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: r.status, body: (await r.json()) as Json };
};

let model: ModelServer;
let db: { url: string; drop(): Promise<void> };
let dir: string;
let env: Record<string, string>;
const started: ServeProcess[] = [];

before(async () => {
  model = await startModelServer({ port: 0 });
  db = await createPgDatabase();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cco-scale-'));
  fs.mkdirSync(path.join(dir, 'projects'));
  env = {
    ...(claudeTestEnv({ baseUrl: model.url, configDir: path.join(dir, 'claude') }) as Record<string, string>),
    DATABASE_URL: db.url,
    // The shared volume: every process sees the same workspaces and Claude Code transcripts.
    WORKSPACES_DIR: path.join(dir, 'workspaces'),
    ALLOWED_ROOTS: path.join(dir, 'projects'),
  };
});

after(async () => {
  await Promise.all(started.map((p) => stopProcess(p, 'SIGKILL')));
  await model.close();
  await db.drop();
  fs.rmSync(dir, { recursive: true, force: true });
});

async function start(role: 'api' | 'runner', extra: Record<string, string> = {}): Promise<ServeProcess> {
  const data = fs.mkdtempSync(path.join(dir, `${role}-`));
  const p = await startServeProcess({ ...env, ROLE: role, DATA_DIR: data, MAX_CONCURRENT_RUNS: '2', ...extra });
  started.push(p);
  return p;
}

async function stopProcess(p: ServeProcess, signal: NodeJS.Signals): Promise<number | null> {
  if (p.child.exitCode !== null || p.child.signalCode !== null) return p.child.exitCode;
  const exited = new Promise<number | null>((r) => p.child.once('exit', (code) => r(code)));
  p.child.kill(signal);
  return exited;
}

const project = () => fs.mkdtempSync(path.join(dir, 'projects', 'p-'));
const turnsOf = async (api: ServeProcess, id: string) => (await get(`${api.url}/api/sessions/${id}/turns`)).data as Json[];
const messagesOf = async (api: ServeProcess, id: string) => (await get(`${api.url}/api/sessions/${id}/messages?limit=200`)).data as Json[];

test('roles: an api process refuses nothing and runs nothing; a runner serves only /health', async () => {
  const api = await start('api');
  const created = await send('POST', `${api.url}/api/sessions`, { prompt: 'waits for a runner', project_path: project() });
  assert.equal(created.status, 201);
  assert.equal(created.body.turn.state, 'queued');
  // No runner yet: the turn waits in the queue, stored and acknowledged.
  await new Promise((r) => setTimeout(r, 1500));
  assert.equal((await turnsOf(api, created.body.id))[0]!.status, 'queued');

  const runner = await start('runner');
  const health = await fetch(`${runner.url}/health`);
  assert.equal(health.status, 200);
  assert.equal(((await health.json()) as Json).role, 'runner');
  assert.equal((await fetch(`${runner.url}/api/sessions`)).status, 404);
  await waitFor('the waiting turn ran on the new runner', async () => (await turnsOf(api, created.body.id))[0]!.status === 'completed', 60_000);

  // Search vectors: the api process indexes the turn's messages; a runner alone indexes nothing
  // (it reads no live events, so it could not hold back during a burst of writes).
  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  try {
    const waiting = async () => Number((await client.query('select count(*) as n from session_messages where search is null')).rows[0].n);
    await waitFor('the api process indexed the messages', async () => (await waiting()) === 0, 30_000);
    assert.equal(await stopProcess(api, 'SIGTERM'), 0);
    await client.query("insert into session_messages (session_id, direction, content, source) values ($1, 'user', 'written while only a runner runs', 'api')", [created.body.id]);
    await new Promise((r) => setTimeout(r, 1500)); // six of an indexer's idle polls
    assert.equal(await waiting(), 1, 'the runner process left the row to the api processes');
  } finally {
    await client.end();
  }
  await stopProcess(runner, 'SIGTERM');
});

test('a session moves between runners: the second turn resumes the first from the shared folders', async () => {
  const api = await start('api');
  const first = await start('runner');
  const created = await send('POST', `${api.url}/api/sessions`, { prompt: 'SCRIPT:bash', allowed_tools: ['Bash'], project_path: project() });
  const id = created.body.id as string;
  await waitFor('turn 1 done', async () => (await turnsOf(api, id))[0]?.status === 'completed', 60_000);
  assert.equal(await stopProcess(first, 'SIGTERM'), 0);

  const second = await start('runner');
  const before = model.requests.length;
  await send('POST', `${api.url}/api/sessions/${id}/messages`, { direction: 'user', content: 'and now?' });
  await waitFor('turn 2 done on the other runner', async () => (await turnsOf(api, id)).every((t) => t.status === 'completed') && (await turnsOf(api, id)).length === 2, 60_000);
  const messages = await messagesOf(api, id);
  assert.ok(!messages.some((m) => m.direction === 'system'), `no fallback notice: ${JSON.stringify(messages.filter((m) => m.direction === 'system'))}`);
  assert.equal(messages.at(-1)!.content, 'Done: and now?');
  // Claude Code resumed its own transcript: the model saw turn 1's tool call in turn 2's context.
  assert.match(JSON.stringify(model.requests.slice(before).map((r) => r.body)), /hello-from-bash/);
  await stopProcess(second, 'SIGTERM');
  await stopProcess(api, 'SIGTERM');
});

test('pause and close sent to one api process reach the turn on a runner within 10 s', async () => {
  const [api1, api2] = [await start('api'), await start('api')];
  const runner = await start('runner');
  const seen = model.requests.length;
  const created = await send('POST', `${api1.url}/api/sessions`, { prompt: 'SCRIPT:sleep', allowed_tools: ['Bash'], project_path: project() });
  const id = created.body.id as string;
  await waitFor('the sleep tool running', async () => model.requests.slice(seen).some((r) => r.reply === 'sleep#0') && (await get(`${api2.url}/api/sessions/${id}`)).turn_state === 'running', 60_000);

  const t0 = Date.now();
  assert.equal((await send('PATCH', `${api2.url}/api/sessions/${id}`, { status: 'paused' })).status, 200);
  await waitFor('interrupted by the pause', async () => (await turnsOf(api1, id))[0]!.status === 'interrupted', 10_000);
  assert.ok(Date.now() - t0 < 10_000);
  // Paused: a new message is stored and waits; resume runs it.
  await send('POST', `${api1.url}/api/sessions/${id}/messages`, { direction: 'user', content: 'after the pause' });
  await new Promise((r) => setTimeout(r, 1500));
  assert.equal((await turnsOf(api1, id)).at(-1)!.status, 'queued');
  await send('PATCH', `${api1.url}/api/sessions/${id}`, { status: 'active' });
  await waitFor('the queued turn ran after resume', async () => (await turnsOf(api2, id)).at(-1)!.status === 'completed', 60_000);

  await send('POST', `${api2.url}/api/sessions/${id}/messages`, { direction: 'user', content: 'SCRIPT:sleep' });
  await waitFor('running again', async () => (await get(`${api1.url}/api/sessions/${id}`)).turn_state === 'running', 60_000);
  const t1 = Date.now();
  assert.equal((await send('PATCH', `${api1.url}/api/sessions/${id}`, { status: 'completed' })).status, 200);
  await waitFor('interrupted by the close', async () => (await turnsOf(api2, id)).at(-1)!.status === 'interrupted', 10_000);
  assert.ok(Date.now() - t1 < 10_000);
  await Promise.all([stopProcess(runner, 'SIGTERM'), stopProcess(api1, 'SIGTERM'), stopProcess(api2, 'SIGTERM')]);
});

test('drain: SIGTERM lets a running turn finish within DRAIN_TIMEOUT_S, then the runner exits', async () => {
  const api = await start('api');
  const runner = await start('runner', { DRAIN_TIMEOUT_S: '60' });
  const script = JSON.stringify([{ tool: 'Bash', input: { command: 'echo draining', description: 'x' }, delay_ms: 2500 }, { text: 'finished while draining' }]);
  const created = await send('POST', `${api.url}/api/sessions`, { prompt: `SCRIPT_JSON:${script}`, allowed_tools: ['Bash'], project_path: project() });
  const id = created.body.id as string;
  await waitFor('running', async () => (await get(`${api.url}/api/sessions/${id}`)).turn_state === 'running', 60_000);
  assert.equal(await stopProcess(runner, 'SIGTERM'), 0);
  const [turn] = await turnsOf(api, id);
  assert.equal(turn!.status, 'completed');
  assert.equal((await messagesOf(api, id)).at(-1)!.content, 'finished while draining');
  await stopProcess(api, 'SIGTERM');
});

test('a runner killed -9 mid-turn: its turn is interrupted within 60 s and the session goes on on another runner', async () => {
  const api = await start('api');
  const doomed = await start('runner');
  const created = await send('POST', `${api.url}/api/sessions`, { prompt: 'SCRIPT:sleep', allowed_tools: ['Bash'], project_path: project() });
  const id = created.body.id as string;
  await waitFor('running', async () => (await get(`${api.url}/api/sessions/${id}`)).turn_state === 'running', 60_000);
  const other = await start('runner');
  const t0 = Date.now();
  await stopProcess(doomed, 'SIGKILL');
  await waitFor('interrupted', async () => (await turnsOf(api, id))[0]!.status === 'interrupted', 60_000);
  const took = Date.now() - t0;
  assert.ok(took < 60_000, `took ${took} ms`);
  assert.match((await messagesOf(api, id)).at(-1)!.content, /the process running it stopped/);
  // A directive of its own: if the kill came before Claude Code wrote its transcript, the turn is
  // replayed with the stored conversation, whose earlier SCRIPT:sleep the model server would play again.
  await send('POST', `${api.url}/api/sessions/${id}/messages`, { direction: 'user', content: 'SCRIPT:text' });
  await waitFor('the next turn ran', async () => (await turnsOf(api, id)).at(-1)!.status === 'completed', 60_000);
  assert.equal((await turnsOf(api, id)).length, 2);
  await stopProcess(other, 'SIGTERM');
  await stopProcess(api, 'SIGTERM');
});
