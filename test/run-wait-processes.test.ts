/**
 * Run and wait with real processes (issue 14, points 2 and 6): a wait answered by an API process
 * while the turn runs in a runner process (ROLE=api + ROLE=runner over one database), close_after
 * done by that runner, and `cco run` / `cco tail` against a running `cco serve` (AUTH=keys, the key
 * from CCO_API_KEY), with their exit codes and --json.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { startModelServer, type ModelServer } from '../src/model-server/server.ts';
import { claudeTestEnv } from './helpers/claude.ts';
import { createPgDatabase } from './helpers/db.ts';
import { waitFor } from './helpers/runner.ts';
import { startServeProcess, type ServeProcess } from './helpers/serve.ts';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
const CCO = path.resolve('bin/cco.mjs');
/** The first start's admin key: alone on its line (src/auth/first-start.ts). */
const KEY = /^(cco_[A-Za-z0-9_]+)$/m;

let model: ModelServer;
let dir: string;
let base: Record<string, string>;
const dbs: Array<{ drop(): Promise<void> }> = [];
const started: ServeProcess[] = [];

before(async () => {
  model = await startModelServer({ port: 0 });
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cco-runwait-'));
  base = {
    ...(claudeTestEnv({ baseUrl: model.url, configDir: path.join(dir, 'claude') }) as Record<string, string>),
    WORKSPACES_DIR: path.join(dir, 'workspaces'),
  };
});

after(async () => {
  await Promise.all(started.map((p) => stop(p)));
  await model.close();
  for (const db of dbs) await db.drop();
  fs.rmSync(dir, { recursive: true, force: true });
});

async function serve(env: Record<string, string>): Promise<ServeProcess> {
  const p = await startServeProcess({ ...base, DATA_DIR: fs.mkdtempSync(path.join(dir, 'data-')), ...env });
  started.push(p);
  return p;
}

async function stop(p: ServeProcess): Promise<void> {
  if (p.child.exitCode !== null || p.child.signalCode !== null) return;
  const exited = new Promise((r) => p.child.once('exit', r));
  p.child.kill('SIGTERM');
  await exited;
}

async function send(method: string, url: string, body?: unknown, key?: string): Promise<{ status: number; body: Json }> {
  const headers: Record<string, string> = { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...(key ? { authorization: `Bearer ${key}` } : {}) };
  const r = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  return { status: r.status, body: (await r.json()) as Json };
}

/** Runs `cco <args>` to its end (asynchronously: the server under test lives in another process). */
function cco(args: string[], env: Record<string, string | undefined>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CCO, ...args], { env: { ...process.env, CCO_URL: undefined, CCO_API_KEY: undefined, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

test('a wait on an API process answers when a runner process ends the turn; close_after is done by the runner', async () => {
  const db = await createPgDatabase();
  dbs.push(db);
  // A short REQUEST_TIMEOUT_MS: a waiting request is exempt for its wait.
  const api = await serve({ ROLE: 'api', DATABASE_URL: db.url, REQUEST_TIMEOUT_MS: '1500' });
  await serve({ ROLE: 'runner', DATABASE_URL: db.url });

  const t0 = Date.now();
  const slow = JSON.stringify([{ text: 'a slow answer', delay_ms: 3000 }]);
  const r = await send('POST', `${api.url}/api/sessions`, { prompt: `SCRIPT_JSON:${slow}`, wait: 120 });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  assert.ok(Date.now() - t0 > 3000, 'longer than REQUEST_TIMEOUT_MS');
  assert.equal(r.body.turn.answer, 'a slow answer');
  assert.equal(r.body.turn.status, 'completed');
  assert.ok(r.body.turn.cost_usd > 0);

  const sleeping = await send('POST', `${api.url}/api/sessions`, { prompt: 'SCRIPT:sleep', allowed_tools: ['Bash'], wait: 1 });
  assert.equal(sleeping.status, 202, JSON.stringify(sleeping.body));
  const id = sleeping.body.id as string;
  await waitFor('running on the runner', async () => (await send('GET', `${api.url}/api/sessions/${id}`)).body.turn_state === 'running', 60_000);
  const waiting = send('GET', `${api.url}${sleeping.body.turn.wait_url}`);
  await new Promise((res) => setTimeout(res, 500));
  assert.equal((await send('PATCH', `${api.url}/api/sessions/${id}`, { status: 'completed' })).status, 200);
  const ended = await waiting;
  assert.equal(ended.status, 200, JSON.stringify(ended.body));
  assert.equal(ended.body.status, 'interrupted');

  // No client waits: the runner closes the session when the turn ends.
  const closing = await send('POST', `${api.url}/api/sessions`, { prompt: 'close after', close_after: true });
  assert.equal(closing.status, 201);
  await waitFor('closed by the runner', async () => (await send('GET', `${api.url}/api/sessions/${closing.body.id}`)).body.status === 'completed', 60_000);
  const turn = await send('GET', `${api.url}/api/sessions/${closing.body.id}/turns/${closing.body.turn.id}`);
  assert.equal(turn.body.answer, 'Done: close after');
});

test('cco run prints the answer and exits 0; --json; a timeout exits 2; a failed turn exits 1; no key or no server exits 3; cco tail follows', async () => {
  const db = await createPgDatabase();
  dbs.push(db);
  const server = await serve({ ROLE: 'all', DATABASE_URL: db.url, AUTH: 'keys' });
  const key = await waitFor('the admin key printed at first start', async () => KEY.exec(server.output())?.[1], 10_000);
  const env = { CCO_URL: server.url, CCO_API_KEY: key };

  const ok = await cco(['run', 'hello from the cli'], env);
  assert.equal(ok.code, 0, ok.stderr);
  assert.equal(ok.stdout, 'Done: hello from the cli\n');
  assert.match(ok.stderr, /✓ completed/);
  assert.match(ok.stderr, /\$\d+\.\d{4}/, 'the cost');
  assert.ok(!ok.stdout.includes(key) && !ok.stderr.includes(key), 'the key is never printed');

  const tools = await cco(['run', 'SCRIPT:bash'], env);
  assert.equal(tools.code, 0, tools.stderr);
  assert.match(tools.stderr, /⏺ Bash\(echo hello-from-bash\)/, 'the tool call is shown');
  assert.doesNotMatch(tools.stderr, /⠋|thinking…/, 'no spinner when stderr is not a terminal');

  // Flags win over CCO_URL / CCO_API_KEY.
  const json = await cco(['run', 'as json', '--json', '--server', server.url, '--key', key], { CCO_URL: 'http://127.0.0.1:1', CCO_API_KEY: 'wrong' });
  assert.equal(json.code, 0, json.stderr);
  const out = JSON.parse(json.stdout) as Json;
  assert.equal(out.status, 'completed');
  assert.equal(out.answer, 'Done: as json');
  assert.match(out.session_id, /^[0-9a-f-]{36}$/);
  assert.ok(out.cost_usd > 0);
  assert.equal(out.exit_code, 0);
  assert.equal(json.stderr, '', '--json prints nothing else');
  const closed = await send('GET', `${server.url}/api/sessions/${out.session_id}`, undefined, key);
  assert.equal(closed.body.status, 'completed', 'cco run closes its session (close_after)');
  assert.equal(closed.body.source, 'cli');

  const limit = await cco(['run', 'SCRIPT:sleep', '--allow', 'Bash', '--timeout', '3', '--json'], env);
  assert.equal(limit.code, 2, limit.stdout + limit.stderr);
  assert.equal((JSON.parse(limit.stdout) as Json).status, 'timed_out');

  const failed = await cco(['run', 'SCRIPT_JSON:[{"error":{"status":400,"message":"scripted failure"}}]'], env);
  assert.equal(failed.code, 1, failed.stdout + failed.stderr);
  assert.match(failed.stderr, /✗ error/);

  const noKey = await cco(['run', 'x'], { CCO_URL: server.url });
  assert.equal(noKey.code, 3);
  assert.match(noKey.stderr, /401.*CCO_API_KEY/);
  const noServer = await cco(['run', 'x'], { CCO_URL: 'http://127.0.0.1:1', CCO_API_KEY: key });
  assert.equal(noServer.code, 3);
  assert.match(noServer.stderr, /cannot reach the server at http:\/\/127\.0\.0\.1:1/);
  assert.ok(!noServer.stderr.includes(key));
  const usage = await cco(['run', 'x', '--repo', 'https://example.com/r.git', '--path', '/tmp'], env);
  assert.equal(usage.code, 3);
  const unknown = await cco(['run', 'x', '--no-such-flag'], env);
  assert.equal(unknown.code, 3);

  // tail: a turn that takes a few seconds, followed from its start to its end.
  // The tool call comes 10 s in, so tail (a new process, run from source: several seconds to start
  // on a loaded machine; 4 s was once too short) is following by then.
  const script = JSON.stringify([{ tool: 'Bash', input: { command: 'echo tail-step', description: 'step' }, delay_ms: 10_000 }, { text: 'tail finished', delay_ms: 1500 }]);
  const started = await send('POST', `${server.url}/api/sessions`, { prompt: `SCRIPT_JSON:${script}`, allowed_tools: ['Bash'] }, key);
  assert.equal(started.status, 201);
  const tail = await cco(['tail', started.body.id], env);
  assert.equal(tail.code, 0, tail.stderr);
  assert.equal(tail.stdout, 'tail finished\n');
  assert.match(tail.stderr, /⏺ Bash\(echo tail-step\)/);
  const tailJson = await cco(['tail', started.body.id, '--json'], env);
  assert.equal((JSON.parse(tailJson.stdout) as Json).answer, 'tail finished', 'a finished turn: its result at once');
});

test('waits end cleanly: a client that leaves stops its wait, and a stopping server answers the others 202', async () => {
  const db = await createPgDatabase();
  dbs.push(db);
  // No runner: the turns stay queued, so only the wait's own end can answer.
  const api = await serve({ ROLE: 'api', DATABASE_URL: db.url });
  const gone = new AbortController();
  const left = fetch(`${api.url}/api/sessions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ prompt: 'left early', wait: 600 }), signal: gone.signal }).catch((e: unknown) => e);
  const waiting = send('POST', `${api.url}/api/sessions`, { prompt: 'still waiting', wait: 600 });
  await new Promise((res) => setTimeout(res, 1500));
  gone.abort();
  assert.ok((await left) instanceof Error);
  const t0 = Date.now();
  const exited = new Promise<number | null>((r) => api.child.once('exit', (code) => r(code)));
  api.child.kill('SIGTERM');
  const answer = await waiting;
  assert.equal(answer.status, 202, JSON.stringify(answer.body));
  assert.equal(answer.body.turn.status, 'queued');
  assert.match(answer.body.turn.wait_url, /^\/api\/sessions\/[0-9a-f-]{36}\/turns\/\d+\?wait=600$/);
  assert.equal(await exited, 0, api.output().split('\n').filter((l) => /shut|stop|deadline|error|warn/i.test(l)).join('\n').slice(-3000));
  assert.ok(Date.now() - t0 < 10_000, `the server stopped without waiting out the waits (${Date.now() - t0} ms)`);
});
