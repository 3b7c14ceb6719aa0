/** `cco export` against a listening server (issue 16): files, stdout, progress lines, filters, errors. */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { call, createTestApp, roleKeys, type TestApp } from './helpers/app.ts';

const CCO = path.resolve('bin/cco.mjs');
let t: TestApp;
let keys: Awaited<ReturnType<typeof roleKeys>>;
let url = '';
const ids: string[] = [];
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cco-cli-export-'));

function cco(args: string[], key = keys.admin): Promise<{ code: number | null; stdout: string; stderr: string }> {
  // Asynchronous: the server answering the CLI runs in this process.
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CCO, ...args], { env: { ...process.env, CCO_URL: url, CCO_API_KEY: key }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

before(async () => {
  t = await createTestApp({ auth: 'keys' });
  keys = await roleKeys(t.auth);
  for (const [key, path_, word] of [[keys.alice, '/srv/one', 'narwhal'], [keys.alice, '/srv/two', 'otter'], [keys.bob, '/srv/three', 'narwhal']] as const) {
    const s = await call(t.app, 'POST', '/api/sessions', { project_path: path_ }, key);
    ids.push(s.body.id);
    assert.equal((await call(t.app, 'POST', `/api/sessions/${s.body.id}/messages`, { direction: 'user', content: `about the ${word}`, run: false }, key)).status, 201);
  }
  url = await t.app.listen({ port: 0, host: '127.0.0.1' });
});
after(async () => {
  await t.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

test('cco export writes JSON to stdout, with progress lines on a non-terminal stderr', async () => {
  const r = await cco(['export']);
  assert.equal(r.code, 0, r.stderr);
  const doc = JSON.parse(r.stdout);
  assert.deepEqual(doc.sessions.map((s: { id: string }) => s.id).sort(), [...ids].sort());
  assert.match(r.stderr, /^export: [\d.]+ (B|KB|MB), \d+ lines, .*\(done\)$/m);
});

test('cco export <id> --format csv --table messages -o file; filters; q', async () => {
  const file = path.join(tmp, 'm.csv');
  const r = await cco(['export', ids[0]!, '--format', 'csv', '--table', 'messages', '-o', file]);
  assert.equal(r.code, 0, r.stderr);
  const lines = fs.readFileSync(file, 'utf8').trimEnd().split('\r\n');
  assert.equal(lines.length, 2);
  assert.match(lines[1]!, /about the narwhal/);
  const q = await cco(['export', '--q', 'narwhal', '--format', 'csv']);
  assert.equal(q.stdout.trimEnd().split('\r\n').length, 3);
  const own = await cco(['export', '--q', 'narwhal'], keys.alice);
  assert.deepEqual(JSON.parse(own.stdout).sessions.map((s: { id: string }) => s.id), [ids[0]]);
  const zip = path.join(tmp, 'all.zip');
  assert.equal((await cco(['export', '--format', 'zip', '--owner', 'alice', '-o', zip])).code, 0);
  assert.equal(fs.readFileSync(zip).readUInt32LE(0), 0x04034b50);
});

test('refused and bad requests exit 3 with the server code', async () => {
  const foreign = await cco(['export', ids[2]!], keys.alice);
  assert.equal(foreign.code, 3);
  assert.match(foreign.stderr, /404 not_found/);
  const bad = await cco(['export', '--created-after', 'yesterday']);
  assert.equal(bad.code, 3);
  assert.match(bad.stderr, /400 invalid_request/);
  const unknown = await cco(['export', '--format', 'xml']);
  assert.notEqual(unknown.code, 0);
});
