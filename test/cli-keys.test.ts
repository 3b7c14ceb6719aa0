/**
 * `cco keys` and `cco hooks install` making a hook token, with no server running
 * and beside a running `cco serve` (on the embedded default it joins the
 * server's PostgreSQL instead of being refused by the data folder's lock).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { createPgDatabase, TEST_BACKEND } from './helpers/db.ts';
import { startServeProcess } from './helpers/serve.ts';

const CCO = path.resolve('bin/cco.mjs');
let dir: string;
let env: NodeJS.ProcessEnv;
let pg: Awaited<ReturnType<typeof createPgDatabase>> | undefined;

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cco-keys-cli-'));
  pg = TEST_BACKEND === 'postgres' ? await createPgDatabase() : undefined;
  env = { PATH: process.env.PATH, HOME: dir, DATA_DIR: path.join(dir, 'data'), DATABASE_URL: pg?.url ?? '', CCO_HOME: path.join(dir, 'cco-home'), CLAUDE_CONFIG_DIR: path.join(dir, 'claude'), LOG_LEVEL: 'warn' };
});
after(async () => {
  await pg?.drop();
  fs.rmSync(dir, { recursive: true, force: true });
});

function cco(...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const c = spawn(process.execPath, [CCO, ...args], { env, cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    c.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    c.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    c.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

const lastLine = (s: string) => s.trimEnd().split('\n').at(-1) ?? '';

test('cco keys create / list / revoke with no server running', async () => {
  const made = await cco('keys', 'create', '--name', 'ops', '--role', 'admin', '--expires', '30d');
  assert.equal(made.code, 0, made.stderr);
  const key = lastLine(made.stdout);
  assert.match(key, /^cco_[0-9A-Za-z]{36}$/, 'the key alone on the last line of stdout');
  const listed = await cco('keys', 'list');
  assert.equal(listed.code, 0, listed.stderr);
  assert.match(listed.stdout, /^NAME\s+ROLE\s+PREFIX\s+CREATED\s+LAST USED\s+EXPIRES/m);
  assert.match(listed.stdout, new RegExp(`^ops\\s+admin\\s+${key.slice(0, 12)}`, 'm'));
  assert.equal(listed.stdout.includes(key), false, 'never the key');
  const dup = await cco('keys', 'create', '--name', 'ops', '--role', 'user');
  assert.notEqual(dup.code, 0);
  assert.match(dup.stderr, /key_name_taken/);
  const badRole = await cco('keys', 'create', '--name', 'x', '--role', 'root');
  assert.notEqual(badRole.code, 0);
  assert.match(badRole.stderr, /Allowed choices are admin, user, viewer, hook/);
  const revoked = await cco('keys', 'revoke', key.slice(0, 12));
  assert.equal(revoked.code, 0, revoked.stderr);
  assert.match(revoked.stdout, /Revoked admin key "ops"/);
  assert.match((await cco('keys', 'list')).stdout, /^No keys\.$/m);
  assert.match((await cco('keys', 'list', '--revoked')).stdout, /^ops\s+admin/m);
  assert.match((await cco('keys', 'revoke', 'ops')).stderr, /no live key/);
});

test('beside a running server: a key made by the CLI works at once, a revoked one stops within seconds; hooks install makes a hook token', async () => {
  const server = await startServeProcess({ ...env, AUTH: 'keys', PORT: '0', LOG_LEVEL: 'info' } as Record<string, string>);
  try {
    const made = await cco('keys', 'create', '--name', 'alice', '--role', 'user');
    assert.equal(made.code, 0, made.stderr);
    const key = lastLine(made.stdout);
    const me = async () => (await fetch(`${server.url}/api/me`, { headers: { authorization: `Bearer ${key}` } })).status;
    assert.equal(await me(), 200);

    const proj = path.join(dir, 'proj');
    fs.mkdirSync(proj, { recursive: true });
    const installed = await cco('hooks', 'install', '--project', proj, '--url', server.url, '--owner', 'alice');
    assert.equal(installed.code, 0, installed.stderr);
    assert.match(installed.stdout, /new hook key "hook-[^"]+", sessions owned by alice/);
    const tokenFile = path.join(dir, 'cco-home', 'spool', 'token');
    assert.equal(fs.statSync(tokenFile).mode & 0o777, 0o600);
    const token = /Bearer (\S+)/.exec(fs.readFileSync(tokenFile, 'utf8'))?.[1];
    const who = (await (await fetch(`${server.url}/api/me`, { headers: { authorization: `Bearer ${token}` } })).json()) as { role: string; owner: string };
    assert.deepEqual([who.role, who.owner], ['hook', 'alice']);
    assert.match((await cco('hooks', 'install', '--project', proj, '--url', server.url)).stdout, /Token: .*\(kept\)/, 'a second install keeps the token');

    assert.equal((await cco('keys', 'revoke', 'alice')).code, 0);
    const deadline = Date.now() + 10_000;
    while ((await me()) !== 401 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    assert.equal(await me(), 401, 'revoked from another process: refused within the cache lifetime');
  } finally {
    server.child.kill('SIGTERM');
    await new Promise((r) => server.child.once('exit', r));
  }
});
