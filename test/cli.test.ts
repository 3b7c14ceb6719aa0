import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { SETTINGS } from '../src/config.ts';
import { createPgDatabase, TEST_BACKEND } from './helpers/db.ts';

const CCO = path.resolve('bin/cco.mjs');

function cco(args: string[], env: Record<string, string | undefined> = {}) {
  return spawnSync(process.execPath, [CCO, ...args], { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 60_000 });
}

async function dbEnv(): Promise<{ env: Record<string, string | undefined>; cleanup(): Promise<void> }> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cco-cli-'));
  const pg = TEST_BACKEND === 'postgres' ? await createPgDatabase() : undefined;
  return {
    env: { DATA_DIR: dataDir, DATABASE_URL: pg?.url ?? '' },
    async cleanup() {
      await pg?.drop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

test('--help lists every setting with its default', () => {
  const r = cco(['--help']);
  assert.equal(r.status, 0);
  for (const s of SETTINGS) assert.ok(r.stdout.includes(s.env), `help mentions ${s.env}`);
  assert.match(r.stdout, /HOST\s+127\.0\.0\.1/);
  assert.match(r.stdout, /PORT\s+3000/);
  assert.match(r.stdout, /serve/);
  assert.match(r.stdout, /migrate/);
});

test('invalid settings exit 2 naming the setting', () => {
  const r = cco(['migrate'], { PORT: 'abc', DATABASE_URL: '' });
  assert.equal(r.status, 2);
  assert.match(r.stderr, /PORT/);
  const u = cco(['migrate'], { DATABASE_URL: 'mysql://x' });
  assert.equal(u.status, 2);
  assert.match(u.stderr, /DATABASE_URL/);
});

test('cco migrate applies migrations, then reports up to date', async () => {
  const { env, cleanup } = await dbEnv();
  try {
    const first = cco(['migrate'], env);
    assert.equal(first.status, 0, first.stderr);
    assert.match(first.stdout, /Applied: 0001_init/);
    const second = cco(['migrate'], env);
    assert.equal(second.status, 0, second.stderr);
    assert.match(second.stdout, /up to date/);
  } finally {
    await cleanup();
  }
});

test('cco serve answers health and stops cleanly on SIGTERM', async () => {
  const { env, cleanup } = await dbEnv();
  const child = spawn(process.execPath, [CCO, 'serve'], { env: { ...process.env, ...env, PORT: '0', LOG_LEVEL: 'info' }, stdio: ['ignore', 'pipe', 'pipe'] });
  try {
    const url = await new Promise<string>((resolve, reject) => {
      let out = '';
      const timer = setTimeout(() => reject(new Error(`no listen line: ${out}`)), 90_000);
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /"url":"(http:\/\/[^"]+)"/.exec(out);
        if (m) {
          clearTimeout(timer);
          resolve(m[1]!);
        }
      });
    });
    const health = (await fetch(`${url}/api/health`).then((r) => r.json())) as { status: string; database: { backend: string } };
    assert.equal(health.status, 'ok');
    assert.equal(health.database.backend, TEST_BACKEND);
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    child.kill('SIGTERM');
    assert.equal(await exited, 0);
  } finally {
    child.kill('SIGKILL');
    await cleanup();
  }
});
