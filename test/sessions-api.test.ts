import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { call, createTestApp, type TestApp } from './helpers/app.ts';

let t: TestApp;
before(async () => {
  t = await createTestApp();
});
after(async () => {
  await t.close();
});

const create = (body: Record<string, unknown> = {}) => call(t.app, 'POST', '/api/sessions', { project_path: '/srv/work/proj', ...body });

describe('POST /api/sessions', () => {
  test('creates a session and returns 201 with every field', async () => {
    const r = await create({ project_type: 'github', metadata: { repo: 'acme/api', tags: ['a', 'b'] } });
    assert.equal(r.status, 201);
    assert.match(r.body.id, /^[0-9a-f-]{36}$/);
    assert.equal(r.body.project_path, '/srv/work/proj');
    assert.equal(r.body.project_type, 'github');
    assert.equal(r.body.status, 'active');
    assert.equal(r.body.claude_session_id, null);
    assert.deepEqual(r.body.metadata, { repo: 'acme/api', tags: ['a', 'b'] });
    assert.ok(!Number.isNaN(Date.parse(r.body.created_at)));
    assert.equal(r.body.created_at, r.body.updated_at);
    const got = await call(t.app, 'GET', `/api/sessions/${r.body.id}`);
    assert.equal(got.status, 200);
    assert.deepEqual(got.body, r.body);
  });

  test('rejects bad bodies with 400 naming the field', async () => {
    for (const [body, field] of [
      [{ project_path: 5 }, 'body.project_path'],
      [{ project_type: 'ftp' }, 'body.project_type'],
      [{ metadata: 'x' }, 'body.metadata'],
      [{ unknown_field: 1 }, 'body'],
      [{ project_path: 'x'.repeat(501) }, 'body.project_path'],
    ] as const) {
      const r = await create(body);
      assert.equal(r.status, 400, JSON.stringify(body));
      assert.equal(r.body.error.code, 'invalid_request');
      assert.ok(r.body.error.message.includes(field), `${r.body.error.message} should name ${field}`);
    }
    const missing = await call(t.app, 'POST', '/api/sessions', {});
    assert.equal(missing.status, 400);
    assert.match(missing.body.error.message, /project_path/);
  });

  test('malformed JSON is 400 invalid_json, wrong media type is 415', async () => {
    const bad = await t.app.inject({ method: 'POST', url: '/api/sessions', headers: { 'content-type': 'application/json' }, payload: '{"project_path":' });
    assert.equal(bad.statusCode, 400);
    assert.equal(bad.json().error.code, 'invalid_json');
    const text = await t.app.inject({ method: 'POST', url: '/api/sessions', headers: { 'content-type': 'text/plain' }, payload: 'hi' });
    assert.equal(text.statusCode, 415);
    assert.equal(text.json().error.code, 'unsupported_media_type');
  });

  test('a duplicate claude_session_id is 409, not 500', async () => {
    const a = await create({ claude_session_id: 'dup-claude-id' });
    assert.equal(a.status, 201);
    const b = await create({ claude_session_id: 'dup-claude-id' });
    assert.equal(b.status, 409);
    assert.equal(b.body.error.code, 'claude_session_id_taken');
  });
});

describe('GET /api/sessions/:id', () => {
  test('unknown id is 404, malformed id is 400', async () => {
    const unknown = await call(t.app, 'GET', '/api/sessions/00000000-0000-4000-8000-000000000000');
    assert.equal(unknown.status, 404);
    assert.equal(unknown.body.error.code, 'not_found');
    const malformed = await call(t.app, 'GET', '/api/sessions/not-a-uuid');
    assert.equal(malformed.status, 400);
    assert.match(malformed.body.error.message, /params\.id/);
  });
});

describe('PATCH /api/sessions/:id', () => {
  test('follows transitions; completed is final (409)', async () => {
    const { body: s } = await create();
    const paused = await call(t.app, 'PATCH', `/api/sessions/${s.id}`, { status: 'paused' });
    assert.equal(paused.status, 200);
    assert.equal(paused.body.status, 'paused');
    assert.ok(paused.body.updated_at >= s.updated_at);
    const active = await call(t.app, 'PATCH', `/api/sessions/${s.id}`, { status: 'active' });
    assert.equal(active.body.status, 'active');
    const done = await call(t.app, 'PATCH', `/api/sessions/${s.id}`, { status: 'completed' });
    assert.equal(done.body.status, 'completed');
    const reopen = await call(t.app, 'PATCH', `/api/sessions/${s.id}`, { status: 'active' });
    assert.equal(reopen.status, 409);
    assert.equal(reopen.body.error.code, 'invalid_transition');
    const still = await call(t.app, 'GET', `/api/sessions/${s.id}`);
    assert.equal(still.body.status, 'completed');
  });

  test('merges metadata and sets claude_session_id', async () => {
    const { body: s } = await create({ metadata: { a: 1, keep: true } });
    const r = await call(t.app, 'PATCH', `/api/sessions/${s.id}`, { metadata: { a: 2, b: 'x' }, claude_session_id: 'c-123' });
    assert.equal(r.status, 200);
    assert.deepEqual(r.body.metadata, { a: 2, keep: true, b: 'x' });
    assert.equal(r.body.claude_session_id, 'c-123');
  });

  test('bad patches: empty body 400, bad status 400, unknown session 404; nothing changes', async () => {
    const { body: s } = await create();
    assert.equal((await call(t.app, 'PATCH', `/api/sessions/${s.id}`, {})).status, 400);
    const badStatus = await call(t.app, 'PATCH', `/api/sessions/${s.id}`, { status: 'done', metadata: { x: 1 } });
    assert.equal(badStatus.status, 400);
    assert.match(badStatus.body.error.message, /body\.status/);
    const after = await call(t.app, 'GET', `/api/sessions/${s.id}`);
    assert.deepEqual(after.body.metadata, {});
    assert.equal((await call(t.app, 'PATCH', '/api/sessions/00000000-0000-4000-8000-000000000001', { status: 'paused' })).status, 404);
  });
});

describe('GET /api/sessions', () => {
  test('newest activity first, cursor pagination covers every row once, filters apply', async () => {
    const local = await createTestApp();
    try {
      const ids: string[] = [];
      for (let i = 0; i < 7; i++) {
        const r = await call(local.app, 'POST', '/api/sessions', { project_path: `/p/${i}`, project_type: i % 2 ? 'github' : 'local' });
        ids.push(r.body.id);
      }
      // Activity on the oldest session moves it to the top.
      await call(local.app, 'POST', `/api/sessions/${ids[0]}/messages`, { direction: 'user', content: 'hi' });
      await call(local.app, 'PATCH', `/api/sessions/${ids[1]}`, { status: 'paused' });

      const seen: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const r: Awaited<ReturnType<typeof call>> = await call(local.app, 'GET', `/api/sessions?limit=3${cursor ? `&cursor=${cursor}` : ''}`);
        assert.equal(r.status, 200);
        seen.push(...r.body.data.map((s: { id: string }) => s.id));
        cursor = r.body.next_cursor;
        pages++;
      } while (cursor);
      assert.equal(pages, 3);
      assert.equal(new Set(seen).size, 7);
      assert.equal(seen[0], ids[1]); // last touched
      assert.equal(seen[1], ids[0]);

      const all = await call(local.app, 'GET', '/api/sessions?limit=200');
      const times = all.body.data.map((s: { updated_at: string }) => s.updated_at);
      assert.deepEqual(times, [...times].sort().reverse());

      const paused = await call(local.app, 'GET', '/api/sessions?status=paused');
      assert.deepEqual(paused.body.data.map((s: { id: string }) => s.id), [ids[1]]);
      const gh = await call(local.app, 'GET', '/api/sessions?project_type=github');
      assert.equal(gh.body.data.length, 3);
      assert.ok(gh.body.data.every((s: { project_type: string }) => s.project_type === 'github'));
    } finally {
      await local.close();
    }
  });

  test('bad query parameters are 400', async () => {
    for (const q of ['limit=0', 'limit=201', 'limit=abc', 'status=bogus', 'project_type=x', 'cursor=%%%', 'cursor=eyJhIjoxfQ', 'nope=1']) {
      const r = await call(t.app, 'GET', `/api/sessions?${q}`);
      assert.equal(r.status, 400, q);
      assert.ok(r.body.error.code, q);
    }
  });
});

describe('misc', () => {
  test('unknown routes are 404 JSON', async () => {
    const r = await call(t.app, 'GET', '/api/nope');
    assert.equal(r.status, 404);
    assert.equal(r.body.error.code, 'route_not_found');
  });

  test('health reports the database', async () => {
    const r = await call(t.app, 'GET', '/api/health');
    assert.equal(r.status, 200);
    assert.equal(r.body.status, 'ok');
    assert.equal(r.body.database.ok, true);
    assert.equal(r.body.database.backend, t.db.database.backend);
  });

  test('OpenAPI 3.1 document lists the routes; /docs serves the UI', async () => {
    const r = await call(t.app, 'GET', '/api/openapi.json');
    assert.equal(r.status, 200);
    assert.equal(r.body.openapi, '3.1.0');
    for (const p of ['/api/sessions', '/api/sessions/{id}', '/api/sessions/{id}/messages', '/api/sessions/{id}/logs', '/api/hooks/tool-complete', '/api/health']) {
      assert.ok(r.body.paths[p], `missing ${p}`);
    }
    assert.ok(r.body.paths['/api/sessions'].post.requestBody);
    const docs = await t.app.inject({ method: 'GET', url: '/docs/' });
    assert.equal(docs.statusCode, 200);
    assert.match(docs.body, /swagger/i);
  });
});
