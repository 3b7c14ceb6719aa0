/** The audit log: what is recorded, the append-only table, GET /api/audit, and the bounds of the queue. */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { sql } from 'kysely';
import { AuditLog, safeDetail } from '../src/audit/audit-log.ts';
import { urlWithoutQueryValues } from '../src/http/refused-audit.ts';
import { capturingLogger, call, createTestApp, roleKeys, type TestApp } from './helpers/app.ts';

let t: TestApp;
before(async () => {
  t = await createTestApp();
});
after(async () => {
  await t.close();
});


async function entries(query: string) {
  await t.audit.flush();
  const r = await call(t.app, 'GET', `/api/audit?${query}`);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body as { data: Record<string, unknown>[]; next_cursor: string | null };
}

describe('changes made through the API are recorded', () => {
  test('session created: actor, target, address and the request id', async () => {
    const r = await call(t.app, 'POST', '/api/sessions', { project_path: '/srv/audit/one', project_type: 'github' });
    assert.equal(r.status, 201);
    const page = await entries(`target=session:${r.body.id}`);
    assert.equal(page.data.length, 1);
    const e = page.data[0] as Record<string, unknown>;
    assert.equal(e.action, 'session.created');
    assert.equal(e.target, `session:${r.body.id}`);
    assert.equal(e.request_id, r.headers['x-request-id']);
    assert.equal(e.address, '127.0.0.1');
    // AUTH=off: every request is the local admin.
    assert.deepEqual([e.actor, e.actor_role, e.actor_key_id], ['local', 'admin', null]);
    assert.deepEqual(e.detail, { project_type: 'github', source: 'api', prompt: false });
    assert.ok(Math.abs(Date.parse(e.at as string) - Date.now()) < 60_000);
  });

  test('status changed (from and to) and message sent; a metadata-only PATCH is not a status change', async () => {
    const s = await call(t.app, 'POST', '/api/sessions', { project_path: '/srv/audit/two' });
    assert.equal((await call(t.app, 'PATCH', `/api/sessions/${s.body.id}`, { metadata: { a: 1 } })).status, 200);
    const paused = await call(t.app, 'PATCH', `/api/sessions/${s.body.id}`, { status: 'paused' });
    assert.equal(paused.status, 200);
    const m = await call(t.app, 'POST', `/api/sessions/${s.body.id}/messages`, { direction: 'user', content: 'hello' });
    assert.equal(m.status, 201);
    const page = await entries(`target=session:${s.body.id}`);
    assert.deepEqual(page.data.map((e) => e.action), ['message.sent', 'session.status_changed', 'session.created']);
    const [sent, changed] = page.data as [Record<string, unknown>, Record<string, unknown>];
    assert.deepEqual(changed.detail, { from: 'active', to: 'paused' });
    assert.equal(changed.request_id, paused.headers['x-request-id']);
    assert.deepEqual(sent.detail, { message_id: m.body.id, direction: 'user', source: 'api' });
    assert.ok(!JSON.stringify(sent).includes('hello'), 'message text stays out of the audit log');
  });

  test('a forbidden transition (409) records no status change and is not a refusal', async () => {
    const s = await call(t.app, 'POST', '/api/sessions', { project_path: '/srv/audit/three' });
    assert.equal((await call(t.app, 'PATCH', `/api/sessions/${s.body.id}`, { status: 'completed' })).status, 200);
    const refused = await call(t.app, 'PATCH', `/api/sessions/${s.body.id}`, { status: 'active' });
    assert.equal(refused.status, 409);
    const page = await entries(`target=session:${s.body.id}`);
    assert.deepEqual(page.data.map((e) => e.action), ['session.status_changed', 'session.created']);
    const refusals = await entries('action=request.refused&limit=200');
    assert.ok(!refusals.data.some((e) => e.request_id === refused.headers['x-request-id']));
  });
});

describe('refused requests', () => {
  test('a 403 (Host check) is recorded as request.refused without query values', async () => {
    const r = await t.app.inject({ method: 'GET', url: '/api/sessions?token=fake-secret-value&limit=5', headers: { host: 'evil.example' } });
    assert.equal(r.statusCode, 403);
    const page = await entries('action=request.refused&actor=anonymous');
    const e = page.data.find((x) => x.request_id === r.headers['x-request-id']);
    assert.ok(e, 'entry for the refused request');
    assert.deepEqual(e.detail, { method: 'GET', url: '/api/sessions?token=&limit=', status: 403 });
    assert.equal(e.actor_role, 'anonymous');
    assert.ok(!JSON.stringify(page).includes('fake-secret-value'));
  });

  test('other answers are not refusals', async () => {
    const r = await t.app.inject({ method: 'GET', url: '/api/sessions/00000000-0000-4000-8000-000000000000' });
    assert.equal(r.statusCode, 404);
    const page = await entries('action=request.refused&limit=200');
    assert.ok(!page.data.some((x) => x.request_id === r.headers['x-request-id']));
  });

  test('urlWithoutQueryValues keeps names, drops values, bounds the length', () => {
    assert.equal(urlWithoutQueryValues('/a/b'), '/a/b');
    assert.equal(urlWithoutQueryValues('/a?x=1&y&z=2=3'), '/a?x=&y=&z=');
    assert.equal(urlWithoutQueryValues(`/${'p'.repeat(600)}`).length, 501);
  });
});

describe('GET /api/audit', () => {
  const actor = { name: 'pager-test', role: 'admin', keyId: 'k-1' };
  let t0: string;
  before(async () => {
    t0 = new Date().toISOString();
    for (let i = 0; i < 7; i++) t.audit.record({ actor, action: 'key.created', target: `key:${i}`, address: '10.0.0.9', detail: { i } });
    t.audit.record({ actor, action: 'key.revoked', target: 'key:3', address: '10.0.0.9' });
    await t.audit.flush();
  });

  test('pages newest first with a cursor, no entry twice, ending in a null cursor', async () => {
    const seen: number[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page = await entries(`actor=pager-test&action=key.created&limit=3${cursor ? `&cursor=${cursor}` : ''}`);
      seen.push(...page.data.map((e) => e.id as number));
      cursor = page.next_cursor;
      pages += 1;
    } while (cursor);
    assert.equal(pages, 3);
    assert.equal(seen.length, 7);
    assert.deepEqual(seen, [...seen].sort((a, b) => b - a));
    assert.equal(new Set(seen).size, 7);
  });

  test('filters by actor, action, target and time range', async () => {
    const all = await entries('actor=pager-test');
    assert.equal(all.data.length, 8);
    const first = all.data[0] as Record<string, unknown>;
    assert.deepEqual(
      { actor: first.actor, actor_role: first.actor_role, actor_key_id: first.actor_key_id, action: first.action, address: first.address },
      { actor: 'pager-test', actor_role: 'admin', actor_key_id: 'k-1', action: 'key.revoked', address: '10.0.0.9' },
    );
    assert.equal((await entries('actor=pager-test&action=key.revoked')).data.length, 1);
    assert.deepEqual((await entries('actor=pager-test&target=key:3')).data.map((e) => e.action), ['key.revoked', 'key.created']);
    assert.equal((await entries('actor=nobody-at-all')).data.length, 0);
    assert.equal((await entries(`actor=pager-test&from=${t0}`)).data.length, 8);
    assert.equal((await entries(`actor=pager-test&to=${t0}`)).data.length, 0);
    assert.equal((await entries('actor=pager-test&from=2999-01-01T00:00:00Z')).data.length, 0);
    assert.equal((await entries(`actor=pager-test&from=2000-01-01T00:00:00%2B02:00&to=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}`)).data.length, 8);
  });

  test('validates its query in the error shape', async () => {
    for (const [q, code] of [
      ['from=yesterday', 'invalid_request'],
      ['to=2026-13-01T00:00:00Z', 'invalid_request'],
      ['from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z', 'invalid_time_range'],
      ['limit=0', 'invalid_request'],
      ['limit=201', 'invalid_request'],
      ['cursor=not-a-cursor', 'invalid_cursor'],
      ['colour=red', 'invalid_request'],
    ] as const) {
      const r = await call(t.app, 'GET', `/api/audit?${q}`);
      assert.equal(r.status, 400, q);
      assert.equal(r.body.error.code, code, q);
      assert.equal(typeof r.body.error.message, 'string');
    }
  });
});

describe('with API keys (AUTH=keys)', () => {
  let k: TestApp;
  let keys: Awaited<ReturnType<typeof roleKeys>>;
  before(async () => {
    k = await createTestApp({ auth: 'keys' });
    keys = await roleKeys(k.auth);
  });
  after(async () => {
    await k?.close();
  });
  const refusal = async (requestId: unknown) => {
    await k.audit.flush();
    const page = await call(k.app, 'GET', '/api/audit?action=request.refused&limit=200', undefined, keys.admin);
    assert.equal(page.status, 200);
    return (page.body.data as Record<string, unknown>[]).find((e) => e.request_id === requestId);
  };

  test('the actor of a change is the key that made it', async () => {
    const s = await call(k.app, 'POST', '/api/sessions', { project_path: '/srv/audit/keyed' }, keys.alice);
    assert.equal(s.status, 201);
    await k.audit.flush();
    const page = await call(k.app, 'GET', `/api/audit?target=session:${s.body.id}`, undefined, keys.admin);
    const e = page.body.data[0];
    assert.deepEqual([e.actor, e.actor_role, e.action], ['alice', 'user', 'session.created']);
    assert.equal(typeof e.actor_key_id, 'string');
    assert.ok(!JSON.stringify(page.body).includes(keys.alice), 'no key in the log');
  });

  test('no key: 401 recorded as anonymous; a key without the role: 403 recorded with its name', async () => {
    const none = await call(k.app, 'GET', '/api/audit');
    assert.equal(none.status, 401);
    const anon = await refusal(none.headers['x-request-id']);
    assert.deepEqual([anon?.actor, anon?.actor_role, anon?.actor_key_id, (anon?.detail as Record<string, unknown>).status], ['anonymous', 'anonymous', null, 401]);

    for (const [key, name, role] of [[keys.viewer, 'viewer-k', 'viewer'], [keys.alice, 'alice', 'user']] as const) {
      const r = await call(k.app, 'GET', '/api/audit', undefined, key);
      assert.equal(r.status, 403, name);
      const e = await refusal(r.headers['x-request-id']);
      assert.deepEqual([e?.actor, e?.actor_role, (e?.detail as Record<string, unknown>).status], [name, role, 403]);
      assert.equal(typeof e?.actor_key_id, 'string');
    }
  });
});

describe('the table is append-only', () => {
  test('UPDATE, DELETE and TRUNCATE are refused by the database; INSERT works', async () => {
    const db = t.db.database.db;
    await sql`insert into audit_log (actor, actor_role, action) values ('sql-test', 'admin', 'key.created')`.execute(db);
    await assert.rejects(sql`update audit_log set actor = 'someone-else' where actor = 'sql-test'`.execute(db), /append-only: UPDATE/);
    await assert.rejects(sql`delete from audit_log where actor = 'sql-test'`.execute(db), /append-only: DELETE/);
    await assert.rejects(sql`truncate audit_log`.execute(db), /append-only: TRUNCATE/);
    const left = await sql<{ n: number }>`select count(*)::int as n from audit_log where actor = 'sql-test'`.execute(db);
    assert.equal(left.rows[0]?.n, 1);
  });
});

describe('AuditLog', () => {
  const count = async (actor: string) =>
    (await sql<{ n: number }>`select count(*)::int as n from audit_log where actor = ${actor}`.execute(t.db.database.db)).rows[0]?.n;

  test('a full queue drops (counted, logged) instead of growing; refusals are capped lower than changes', async () => {
    const { logger, lines } = capturingLogger('warn');
    const log = new AuditLog(t.db.database, logger, { maxQueued: 5, maxQueuedRefused: 2, maxBatch: 200 });
    const actor = { name: 'flood-test', role: 'anonymous' };
    for (let i = 0; i < 10; i++) log.record({ actor, action: 'request.refused', detail: { i } });
    log.record({ actor, action: 'session.created' });
    await log.stop();
    assert.equal(log.dropped, 8);
    assert.equal(await count('flood-test'), 3);
    assert.ok(lines.some((l) => l.msg === 'audit entries dropped' && l.reason === 'queue_full'));
  });

  test('stop() writes what is queued, is idempotent, and later entries are dropped', async () => {
    const log = new AuditLog(t.db.database, capturingLogger('warn').logger);
    const actor = { name: 'stop-test', role: 'admin' };
    for (let i = 0; i < 25; i++) log.record({ actor, action: 'key.created' });
    const a = log.stop();
    assert.equal(log.stop(), a);
    await a;
    assert.equal(await count('stop-test'), 25);
    log.record({ actor, action: 'key.created' });
    await log.flush();
    assert.equal(await count('stop-test'), 25);
    assert.equal(log.dropped, 1);
  });

  test('record() never throws: an entry that cannot be stored is dropped', async () => {
    const log = new AuditLog(t.db.database, capturingLogger('silent').logger);
    assert.doesNotThrow(() => log.record({ actor: { name: 'bad-test', role: 'admin' }, action: 'key.created', detail: { n: 1n } }));
    await log.stop();
    assert.equal(log.dropped, 1);
    assert.equal(await count('bad-test'), 0);
  });

  test('detail never carries secret-looking fields and is bounded', () => {
    assert.deepEqual(safeDetail({ name: 'ci', authorization: 'Bearer fake', nested: { api_key: 'fake', token: 'x', key: 'k', key_id: 'id-1' } }), {
      name: 'ci',
      authorization: '[redacted]',
      nested: { api_key: '[redacted]', token: '[redacted]', key: '[redacted]', key_id: 'id-1' },
    });
    assert.deepEqual(safeDetail({ big: 'x'.repeat(5000) }), { truncated: true, size: 5010 });
  });
});
