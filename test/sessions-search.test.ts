import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { call, createTestApp, type TestApp } from './helpers/app.ts';

let t: TestApp;
const ids: Record<string, string> = {};
before(async () => {
  t = await createTestApp();
  const seed: [string, string, string, Record<string, unknown>][] = [
    ['billing', '/srv/Acme/billing-api', 'github', { ticket: 'OPS-12', owner: 'dana' }],
    ['web', '/srv/acme/web', 'local', { ticket: 'WEB-7', note: '100% done_ish' }],
    ['infra', '/home/me/infra', 'local', { labels: ['Terraform', 'acme-cloud'] }],
    ['other', '/opt/other', 'worktree', {}],
  ];
  for (const [name, project_path, project_type, metadata] of seed) {
    ids[name] = (await call(t.app, 'POST', '/api/sessions', { project_path, project_type, metadata })).body.id;
  }
});
after(async () => {
  await t.close();
});

const search = async (qs: string) => {
  const r = await call(t.app, 'GET', `/api/sessions?${qs}`);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return (r.body.data as { id: string }[]).map((s) => Object.keys(ids).find((k) => ids[k] === s.id)).sort();
};

describe('GET /api/sessions?contains=', () => {
  test('matches project_path case-insensitively', async () => {
    assert.deepEqual(await search('contains=ACME'), ['billing', 'infra', 'web']); // infra matches through metadata
    assert.deepEqual(await search('contains=billing-API'), ['billing']);
  });

  test('matches metadata values, nested ones included', async () => {
    assert.deepEqual(await search('contains=ops-12'), ['billing']);
    assert.deepEqual(await search('contains=terraform'), ['infra']);
  });

  test('% and _ are literal text, not wildcards', async () => {
    assert.deepEqual(await search(`contains=${encodeURIComponent('100%')}`), ['web']);
    assert.deepEqual(await search(`contains=${encodeURIComponent('%')}`), ['web']);
    assert.deepEqual(await search(`contains=${encodeURIComponent('e_i')}`), ['web']); // "done_ish" only; no "e?i" wildcard hit
    assert.deepEqual(await search(`contains=${encodeURIComponent("x' or '1'='1")}`), []);
  });

  test('combines with filters and keyset pages', async () => {
    assert.deepEqual(await search('contains=acme&project_type=local'), ['infra', 'web']);
    const first = await call(t.app, 'GET', '/api/sessions?contains=acme&limit=2');
    assert.equal(first.body.data.length, 2);
    assert.ok(first.body.next_cursor);
    const second = await call(t.app, 'GET', `/api/sessions?contains=acme&limit=2&cursor=${first.body.next_cursor}`);
    assert.equal(second.body.data.length, 1);
    assert.equal(second.body.next_cursor, null);
    const all = [...first.body.data, ...second.body.data].map((s: { id: string }) => s.id).sort();
    assert.deepEqual(all, [ids.billing, ids.infra, ids.web].sort());
  });

  test('blank contains is no filter; too long is 400', async () => {
    assert.deepEqual(await search('contains=%20%20'), ['billing', 'infra', 'other', 'web']);
    const r = await call(t.app, 'GET', `/api/sessions?contains=${'x'.repeat(201)}`);
    assert.equal(r.status, 400);
    assert.equal(r.body.error.code, 'invalid_request');
  });
});
