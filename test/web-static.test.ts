import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createTestApp, type TestApp } from './helpers/app.ts';

// A stand-in build folder: these tests are about serving, not about the dashboard itself.
let dir: string;
let t: TestApp;
before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cco-web-'));
  fs.mkdirSync(path.join(dir, 'assets'));
  fs.writeFileSync(path.join(dir, 'index.html'), '<!doctype html><title>cco</title><div id="root"></div>');
  fs.writeFileSync(path.join(dir, 'assets', 'app-abc123.js'), 'console.log(1)');
  t = await createTestApp({ webRoot: dir });
});
after(async () => {
  await t.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

const get = (url: string, accept = 'text/html,application/xhtml+xml') => t.app.inject({ method: 'GET', url, headers: { accept } });

describe('dashboard serving', () => {
  test('/ is the dashboard, revalidated on every load', async () => {
    const r = await get('/');
    assert.equal(r.statusCode, 200);
    assert.match(r.headers['content-type'] as string, /text\/html/);
    assert.match(r.body, /<div id="root">/);
    assert.equal(r.headers['cache-control'], 'no-cache');
  });

  test('hashed assets are cached for good', async () => {
    const r = await get('/assets/app-abc123.js', '*/*');
    assert.equal(r.statusCode, 200);
    assert.match(r.headers['cache-control'] as string, /immutable/);
  });

  test('deep links to dashboard pages get index.html', async () => {
    for (const url of ['/sessions/0b7a3f3e-8f3a-4a55-9d65-1f0c4f0f3a11', '/new?x=1']) {
      const r = await get(url);
      assert.equal(r.statusCode, 200, url);
      assert.match(r.body, /<div id="root">/);
    }
  });

  test('the fallback never swallows API, docs or file 404s', async () => {
    for (const url of ['/api/nope', '/api', '/docs/nope', '/assets/missing.js', '/favicon.ico']) {
      const r = await get(url);
      assert.equal(r.statusCode, 404, url);
      assert.equal(r.json().error.code, 'route_not_found', url);
    }
    const json = await get('/sessions/x', 'application/json');
    assert.equal(json.statusCode, 404);
    const post = await t.app.inject({ method: 'POST', url: '/sessions/x', headers: { accept: 'text/html' } });
    assert.equal(post.statusCode, 404);
  });

  test('the API and docs still answer', async () => {
    assert.equal((await get('/api/health', 'application/json')).statusCode, 200);
    assert.equal((await get('/docs', 'text/html')).statusCode, 200);
  });
});

describe('without a build', () => {
  test('/ says how to build the dashboard; the API still works', async () => {
    const bare = await createTestApp({ webRoot: path.join(dir, 'missing') });
    try {
      const r = await bare.app.inject({ method: 'GET', url: '/' });
      assert.equal(r.statusCode, 503);
      assert.match(r.body, /npm run build:web/);
      assert.equal((await bare.app.inject({ method: 'GET', url: '/api/health' })).statusCode, 200);
      assert.equal((await bare.app.inject({ method: 'GET', url: '/sessions/x', headers: { accept: 'text/html' } })).statusCode, 404);
    } finally {
      await bare.close();
    }
  });
});
