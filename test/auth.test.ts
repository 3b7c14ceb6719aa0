/**
 * Keys, roles and sign-in as a client sees them: 401s in the error shape, the
 * key format, admin key routes, revocation and expiry, dashboard cookies and
 * one-time links, AUTH=off only on loopback.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { sql } from 'kysely';
import { displayPrefix, generateKey, isWellFormedKey, parseExpiry } from '../src/auth/keys.ts';
import { ConfigError, loadConfig } from '../src/config.ts';
import { call, createTestApp, roleKeys, type TestApp } from './helpers/app.ts';

let t: TestApp;
let keys: Awaited<ReturnType<typeof roleKeys>>;

before(async () => {
  t = await createTestApp({ auth: 'keys' });
  keys = await roleKeys(t.auth);
});
after(async () => t.close());

describe('the key format', () => {
  test('cco_ + 36 base62 characters whose last 6 are a checksum; a typo fails the check', () => {
    const k = generateKey();
    assert.match(k, /^cco_[0-9A-Za-z]{36}$/);
    assert.ok(isWellFormedKey(k));
    const typo = `${k.slice(0, 10)}${k[10] === 'a' ? 'b' : 'a'}${k.slice(11)}`;
    assert.equal(isWellFormedKey(typo), false);
    assert.equal(displayPrefix(k), k.slice(0, 12));
    assert.notEqual(generateKey(), k);
  });

  test('expiry: 30d, 12h, 90m and ISO dates; past or malformed ones are refused', () => {
    const now = new Date('2026-01-01T00:00:00Z');
    assert.equal(parseExpiry('30d', now)?.toISOString(), '2026-01-31T00:00:00.000Z');
    assert.equal(parseExpiry('90m', now)?.toISOString(), '2026-01-01T01:30:00.000Z');
    assert.equal(parseExpiry(undefined, now), undefined);
    assert.throws(() => parseExpiry('2020-01-01', now), /future/);
    assert.throws(() => parseExpiry('soon', now), /30d/);
  });
});

describe('AUTH=keys', () => {
  test('every route but health and the OpenAPI document needs a key: 401 in the error shape', async () => {
    assert.equal((await call(t.app, 'GET', '/api/health')).status, 200);
    assert.equal((await call(t.app, 'GET', '/api/openapi.json')).status, 200);
    for (const [method, url] of [['GET', '/api/sessions'], ['POST', '/api/sessions'], ['GET', '/api/me'], ['GET', '/api/keys'], ['POST', '/api/hooks/tool-complete'], ['GET', '/api/events'], ['GET', '/api/no-such-route']] as const) {
      const r = await call(t.app, method, url, method === 'POST' ? {} : undefined);
      assert.equal(r.status, 401, `${method} ${url}`);
      assert.equal(r.body.error.code, 'unauthorized');
      assert.match(r.body.error.message, /Authorization: Bearer/);
    }
  });

  test('a key works as Bearer or x-api-key; a wrong, malformed or unknown key is 401', async () => {
    assert.equal((await call(t.app, 'GET', '/api/me', undefined, keys.alice)).body.name, 'alice');
    const viaHeader = await t.app.inject({ method: 'GET', url: '/api/me', headers: { 'x-api-key': keys.viewer } });
    assert.deepEqual(viaHeader.json(), { name: 'viewer-k', role: 'viewer', owner: 'viewer-k', auth: 'keys' });
    for (const bad of [generateKey(), 'cco_short', `${keys.alice}x`, 'Basic dXNlcjpwYXNz']) {
      const r = await t.app.inject({ method: 'GET', url: '/api/me', headers: { authorization: bad.startsWith('Basic') ? bad : `Bearer ${bad}` } });
      assert.equal(r.statusCode, 401, bad.slice(0, 12));
      assert.match(r.json().error.message, /unknown, expired or revoked/);
    }
  });

  test('GET /api/me names the caller and its role; a hook token may ask who it is but read nothing', async () => {
    assert.deepEqual((await call(t.app, 'GET', '/api/me', undefined, keys.hook)).body, { name: 'hook-k', role: 'hook', owner: 'alice', auth: 'keys' });
    const r = await call(t.app, 'GET', '/api/sessions', undefined, keys.hook);
    assert.equal(r.status, 403);
    assert.equal(r.body.error.code, 'forbidden');
  });

  test('admins create, list and revoke keys; the key is in the create answer only; revoked keys stop at once', async () => {
    const created = await call(t.app, 'POST', '/api/keys', { name: 'ci-bot', role: 'user' }, keys.admin);
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.ok(isWellFormedKey(created.body.key));
    assert.equal(created.body.prefix, displayPrefix(created.body.key));
    assert.equal(created.body.created_by, 'admin-k');
    const listed = await call(t.app, 'GET', '/api/keys', undefined, keys.admin);
    const row = listed.body.data.find((k: { name: string }) => k.name === 'ci-bot');
    assert.ok(row);
    assert.equal(JSON.stringify(listed.body).includes(created.body.key), false, 'the list never holds a key');
    assert.equal((await call(t.app, 'POST', '/api/keys', { name: 'ci-bot', role: 'user' }, keys.admin)).body.error.code, 'key_name_taken');
    assert.equal((await call(t.app, 'GET', '/api/me', undefined, created.body.key)).status, 200);
    const revoked = await call(t.app, 'DELETE', `/api/keys/${row.id}`, undefined, keys.admin);
    assert.equal(revoked.status, 200);
    assert.ok(revoked.body.revoked_at);
    assert.equal((await call(t.app, 'GET', '/api/me', undefined, created.body.key)).status, 401, 'revoked through the API: refused at once');
    assert.equal((await call(t.app, 'DELETE', `/api/keys/${row.id}`, undefined, keys.admin)).body.error.code, 'key_revoked');
    // Only a hash and the prefix are stored.
    const stored = await sql<{ n: number }>`select count(*)::int as n from api_keys where key_hash = ${created.body.key} or prefix = ${created.body.key}`.execute(t.db.database.db);
    assert.equal(stored.rows[0]?.n, 0);
  });

  test('key routes are for admins: a user gets 403, bad input 400', async () => {
    assert.equal((await call(t.app, 'GET', '/api/keys', undefined, keys.alice)).status, 403);
    assert.equal((await call(t.app, 'POST', '/api/keys', { name: 'x', role: 'admin' }, keys.alice)).status, 403);
    assert.equal((await call(t.app, 'POST', '/api/keys', { name: 'has space', role: 'user' }, keys.admin)).body.error.code, 'invalid_key_name');
    assert.equal((await call(t.app, 'POST', '/api/keys', { name: 'x', role: 'root' }, keys.admin)).status, 400);
    assert.equal((await call(t.app, 'POST', '/api/keys', { name: 'x', role: 'user', expires_at: '2001-01-01T00:00:00Z' }, keys.admin)).body.error.code, 'invalid_expiry');
  });

  test('an expired key is refused', async () => {
    const { key, info } = await t.auth.createKey({ name: 'short-lived', role: 'user', expiresAt: new Date(Date.now() + 60_000) });
    assert.equal((await call(t.app, 'GET', '/api/me', undefined, key)).status, 200);
    await sql`update api_keys set expires_at = now() - interval '1 second' where id = ${info.id}`.execute(t.db.database.db);
    // A verified key is trusted for at most the cache's lifetime (2 s); a fresh service asks the database.
    const fresh = await createTestApp({ auth: 'keys', db: t.db });
    try {
      assert.equal((await call(fresh.app, 'GET', '/api/me', undefined, key)).status, 401);
    } finally {
      await fresh.close();
    }
  });

  test('users own what they create and see only that; viewers read everything and change nothing', async () => {
    const mine = await call(t.app, 'POST', '/api/sessions', { project_path: '/srv/alice', metadata: {} }, keys.alice);
    assert.equal(mine.status, 201);
    assert.equal(mine.body.owner, 'alice');
    const theirs = await call(t.app, 'POST', '/api/sessions', { project_path: '/srv/bob', metadata: {} }, keys.bob);
    assert.equal((await call(t.app, 'GET', `/api/sessions/${theirs.body.id}`, undefined, keys.alice)).status, 404, "another owner's session is not revealed");
    assert.equal((await call(t.app, 'GET', `/api/sessions/${theirs.body.id}/messages`, undefined, keys.alice)).status, 404);
    assert.equal((await call(t.app, 'PATCH', `/api/sessions/${theirs.body.id}`, { status: 'paused' }, keys.alice)).status, 404);
    const list = await call(t.app, 'GET', '/api/sessions?limit=200', undefined, keys.alice);
    assert.ok(list.body.data.length >= 1);
    assert.ok(list.body.data.every((s: { owner: string }) => s.owner === 'alice'));
    const all = await call(t.app, 'GET', '/api/sessions?limit=200', undefined, keys.viewer);
    assert.ok(all.body.data.some((s: { owner: string }) => s.owner === 'bob'));
    assert.equal((await call(t.app, 'GET', `/api/sessions/${theirs.body.id}`, undefined, keys.viewer)).status, 200);
    const write = await call(t.app, 'PATCH', `/api/sessions/${theirs.body.id}`, { status: 'paused' }, keys.viewer);
    assert.equal(write.status, 403);
    assert.equal(write.body.error.code, 'forbidden');
    assert.equal((await call(t.app, 'PATCH', `/api/sessions/${theirs.body.id}`, { status: 'paused' }, keys.admin)).status, 200);
  });

  test('settings that widen what Claude Code may do are for admins', async () => {
    const r = await call(t.app, 'POST', '/api/sessions', { prompt: 'hi', project_type: 'local', trust_project_settings: true }, keys.alice);
    assert.equal(r.status, 403);
    assert.match(r.body.error.message, /admin keys only/);
    const b = await call(t.app, 'POST', '/api/sessions', { prompt: 'hi', project_type: 'local', permission_mode: 'bypassPermissions' }, keys.alice);
    assert.equal(b.status, 403);
  });

  test('hook tokens post hook events; the sessions they make belong to their owner', async () => {
    const claude = crypto.randomUUID();
    const r = await call(t.app, 'POST', '/api/hooks/tool-complete', { session_id: claude, hook_event_name: 'PostToolUse', tool_name: 'Bash', tool_input: { command: 'ls' }, tool_response: { stdout: 'x' }, tool_use_id: 'toolu_1', cwd: '/srv/x' }, keys.hook);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const s = await call(t.app, 'GET', `/api/sessions/${r.body.session_id}`, undefined, keys.alice);
    assert.equal(s.body.owner, 'alice');
    assert.equal((await call(t.app, 'POST', '/api/hooks/tool-complete', {}, keys.viewer)).status, 403, 'viewers post no hook events');
  });
});

describe('dashboard sign-in', () => {
  const cookieOf = (h: string | string[] | undefined) => (Array.isArray(h) ? h[0] : h) ?? '';

  test('a key signs the browser in with an HttpOnly, SameSite=Strict cookie; sign-out ends it', async () => {
    const bad = await call(t.app, 'POST', '/api/auth/signin', { key: generateKey() });
    assert.equal(bad.status, 401);
    const r = await call(t.app, 'POST', '/api/auth/signin', { key: keys.viewer });
    assert.equal(r.status, 200);
    assert.equal(r.body.role, 'viewer');
    const setCookie = cookieOf(r.headers['set-cookie']);
    assert.match(setCookie, /^cco_session=[0-9A-Za-z]{40}; Path=\/; HttpOnly; SameSite=Strict; Max-Age=\d+$/);
    assert.equal(setCookie.includes(keys.viewer), false, 'the cookie is not the key');
    const cookie = setCookie.split(';')[0]!;
    const me = await t.app.inject({ method: 'GET', url: '/api/me', headers: { cookie } });
    assert.equal(me.json().name, 'viewer-k');
    const out = await t.app.inject({ method: 'POST', url: '/api/auth/signout', headers: { cookie } });
    assert.equal(out.statusCode, 204);
    assert.match(cookieOf(out.headers['set-cookie']), /Max-Age=0/);
    assert.equal((await t.app.inject({ method: 'GET', url: '/api/me', headers: { cookie } })).statusCode, 401);
  });

  test('a one-time link signs in once; revoking the key ends its sign-ins', async () => {
    const { key, info } = await t.auth.createKey({ name: 'linked', role: 'admin' });
    const code = await t.auth.createSignInCode(info.id);
    const first = await t.app.inject({ method: 'GET', url: `/api/auth/link?code=${code}` });
    assert.equal(first.statusCode, 302);
    assert.equal(first.headers.location, '/');
    const cookie = cookieOf(first.headers['set-cookie']).split(';')[0]!;
    assert.equal((await t.app.inject({ method: 'GET', url: '/api/me', headers: { cookie } })).json().name, 'linked');
    const second = await t.app.inject({ method: 'GET', url: `/api/auth/link?code=${code}` });
    assert.equal(second.headers.location, '/signin?error=link_expired');
    await call(t.app, 'DELETE', `/api/keys/${info.id}`, undefined, key);
    assert.equal((await t.app.inject({ method: 'GET', url: '/api/me', headers: { cookie } })).statusCode, 401);
  });
});

describe('AUTH=off', () => {
  test('is refused unless HOST is a loopback address', () => {
    assert.throws(() => loadConfig({ AUTH: 'off', HOST: '0.0.0.0' }), (e: unknown) => e instanceof ConfigError && /loopback/.test(e.message));
    assert.equal(loadConfig({ AUTH: 'off', HOST: '127.0.0.1' }).auth.mode, 'off');
    assert.equal(loadConfig({ AUTH: 'off', HOST: '::1' }).auth.mode, 'off');
    assert.equal(loadConfig({}).auth.mode, 'keys', 'keys by default');
  });
});

describe('ALLOWED_ROOTS with {owner}', () => {
  test('user keys may run in their own roots only; admin keys in every root', async () => {
    const base = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'cco-roots-')));
    for (const who of ['alice', 'bob']) fs.mkdirSync(path.join(base, who, 'proj'), { recursive: true });
    const a = await createTestApp({ auth: 'keys', workspaces: { allowedRoots: [base], ownerRoots: [path.join(base, '{owner}')] } });
    try {
      const k = await roleKeys(a.auth);
      // Folders that do not exist pass the owner check and are then refused by the workspace manager
      // (400), so no Claude Code runs here: a 400 shows the owner rule let the request through.
      const start = (key: string, dir: string) => call(a.app, 'POST', '/api/sessions', { prompt: 'SCRIPT:text', project_type: 'local', project_path: dir }, key);
      const mine = await start(k.alice, path.join(base, 'alice', 'proj', 'missing'));
      assert.equal(mine.status, 400, JSON.stringify(mine.body));
      const own = await call(a.app, 'POST', '/api/sessions', { project_type: 'local', project_path: path.join(base, 'bob', 'proj') }, k.alice);
      assert.equal(own.status, 201, 'recording a path runs nothing and is allowed');
      const other = await start(k.alice, path.join(base, 'bob', 'proj'));
      assert.equal(other.status, 403);
      assert.match(other.body.error.message, /own ALLOWED_ROOTS/);
      const escape = await start(k.alice, path.join(base, 'alice', '..', 'bob', 'proj'));
      assert.equal(escape.status, 403, '.. does not leave the own root');
      const wt = await call(a.app, 'POST', '/api/sessions', { prompt: 'x', project_type: 'worktree', base_repo: `file://${path.join(base, 'bob', 'proj')}` }, k.alice);
      assert.equal(wt.status, 403, 'file:// URLs are host folders too');
      const admin = await start(k.admin, path.join(base, 'bob', 'proj', 'missing'));
      assert.equal(admin.status, 400, `admins pass the owner rule: ${JSON.stringify(admin.body)}`);
    } finally {
      await a.close();
      fs.rmSync(base, { recursive: true, force: true });
    }
  });
});

describe('hook tokens and the dashboard', () => {
  test('a hook token cannot sign in to the dashboard', async () => {
    const r = await call(t.app, 'POST', '/api/auth/signin', { key: keys.hook });
    assert.equal(r.status, 403);
    assert.equal(r.headers['set-cookie'], undefined);
  });
});

describe('audit of keys and sign-ins', () => {
  test('key created and revoked, sign-in and sign-out are in the audit log with their actor', async () => {
    const created = await call(t.app, 'POST', '/api/keys', { name: 'audited', role: 'viewer' }, keys.admin);
    await call(t.app, 'DELETE', `/api/keys/${created.body.id}`, undefined, keys.admin);
    const signin = await call(t.app, 'POST', '/api/auth/signin', { key: keys.alice });
    const cookie = String(signin.headers['set-cookie']).split(';')[0]!;
    await t.app.inject({ method: 'POST', url: '/api/auth/signout', headers: { cookie } });
    await t.audit.flush();
    const entries = (await call(t.app, 'GET', '/api/audit?limit=200', undefined, keys.admin)).body.data as { action: string; actor: string; target: string; detail: Record<string, unknown> }[];
    const find = (action: string, actor: string) => entries.find((e) => e.action === action && e.actor === actor);
    assert.equal(find('key.created', 'admin-k')?.target, `key:${created.body.id}`);
    assert.equal(find('key.revoked', 'admin-k')?.detail.name, 'audited');
    assert.ok(find('auth.signin', 'alice'));
    assert.ok(find('auth.signout', 'alice'));
    assert.equal(JSON.stringify(entries).includes(created.body.key), false, 'never a key in the audit log');
  });
});
