/**
 * Issue 11, security suite: every route of the OpenAPI document × every kind of caller ×
 * own/other owner answers as ONE table below says. The table is written here, not read
 * from the routes' config.access, so a route whose rule drifts fails; a route missing from
 * the table (or a table row without a route) fails too. Requests go over real HTTP (the
 * event stream cannot be injected), with sessions owned by alice and by bob.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { sql } from 'kysely';
import { call, createTestApp, roleKeys, type TestApp } from '../helpers/app.ts';
import { problem, send, type Case, type OpenApiDoc } from '../helpers/openapi-cases.ts';

type Access = 'public' | 'any' | 'hook' | 'read' | 'write' | 'admin';
type Role = 'admin' | 'user' | 'viewer' | 'hook';

interface Seeded {
  id: string;
  claude: string;
  message: number;
  log: number;
  event: number;
  turn: number;
  /** A pending approval request of the session. */
  approval: string;
  /** A schedule of the session's owner. */
  schedule: string;
}
interface Ctx {
  session: Seeded;
  n: number;
}
interface Rule {
  access: Access;
  /** Acts on one session (/api/sessions/{id}...): a user gets 404 for another owner's. */
  session?: boolean;
  /** The status an allowed caller gets with the body below. */
  ok: number;
  item?: 'message' | 'log' | 'event';
  body?: (c: Ctx) => unknown;
  /** A path value made fresh for each allowed call (a key to revoke, a request to decide). */
  param?: (owner: 'alice' | 'bob') => Promise<Record<string, string>>;
  /** {id} is an approval request of the session (its owner's rule applies). */
  approval?: boolean;
  /** {id} is a schedule of the session's owner (the same owner rule applies). */
  schedule?: boolean;
}

// The one table. Changing a route's access rule, or adding a route, means changing this.
const RULES: Record<string, Rule> = {
  'GET /api/health': { access: 'public', ok: 200 },
  'GET /api/me': { access: 'any', ok: 200 },
  'POST /api/auth/signin': { access: 'public', ok: 200, body: () => ({ key: keys.viewer }) },
  'POST /api/auth/signout': { access: 'public', ok: 204 },
  'GET /api/auth/link': { access: 'public', ok: 302 },
  'POST /api/keys': { access: 'admin', ok: 201, body: (c) => ({ name: `matrix-${c.n}`, role: 'viewer' }) },
  'GET /api/keys': { access: 'admin', ok: 200 },
  'GET /api/audit': { access: 'admin', ok: 200 },
  'DELETE /api/keys/{id}': { access: 'admin', ok: 200, param: async () => ({ id: (await t.auth.createKey({ name: `doomed-${++seq}`, role: 'viewer' })).info.id }) },
  'POST /api/sessions': { access: 'write', ok: 201, body: (c) => ({ project_path: `/srv/matrix/${c.n}`, metadata: {} }) },
  'GET /api/sessions': { access: 'read', ok: 200 },
  'GET /api/export': { access: 'read', ok: 200 },
  'GET /api/sessions/{id}': { access: 'read', session: true, ok: 200 },
  'PATCH /api/sessions/{id}': { access: 'write', session: true, ok: 200, body: (c) => ({ metadata: { matrix: c.n } }) },
  'GET /api/sessions/{id}/messages': { access: 'read', session: true, ok: 200 },
  'POST /api/sessions/{id}/messages': { access: 'write', session: true, ok: 201, body: () => ({ direction: 'assistant', content: 'x' }) },
  'GET /api/sessions/{id}/messages/{item_id}': { access: 'read', session: true, ok: 200, item: 'message' },
  'GET /api/sessions/{id}/turns': { access: 'read', session: true, ok: 200 },
  'GET /api/sessions/{id}/turns/{turn}': { access: 'read', session: true, ok: 200 },
  'GET /api/sessions/{id}/logs': { access: 'read', session: true, ok: 200 },
  'GET /api/sessions/{id}/logs/{item_id}': { access: 'read', session: true, ok: 200, item: 'log' },
  'GET /api/sessions/{id}/events': { access: 'read', session: true, ok: 200 },
  'GET /api/sessions/{id}/events/{item_id}': { access: 'read', session: true, ok: 200, item: 'event' },
  'GET /api/sessions/{id}/diff': { access: 'read', session: true, ok: 200 },
  // The seeded workspace is not a git repository: no per-turn diff (409 turn_diff_unavailable).
  'GET /api/sessions/{id}/turns/{turn}/diff': { access: 'read', session: true, ok: 409 },
  'GET /api/sessions/{id}/workspace': { access: 'read', session: true, ok: 200 },
  'POST /api/hooks/tool-complete': { access: 'hook', ok: 200, body: (c) => ({ session_id: `matrix-tool-${c.n}`, tool_name: 'Bash', tool_use_id: `toolu_m${c.n}` }) },
  'POST /api/hooks/batch': { access: 'hook', ok: 200, body: (c) => ({ events: [{ event: 'Notification', id: `m-${c.n}`, payload: { session_id: `matrix-batch-${c.n}`, message: 'm' } }] }) },
  'POST /api/hooks/{event}': { access: 'hook', ok: 200, body: (c) => ({ session_id: `matrix-event-${c.n}`, hook_event_name: 'Notification', message: 'm' }) },
  'GET /api/events': { access: 'read', ok: 200 },
  'GET /api/approvals': { access: 'read', ok: 200 },
  'POST /api/schedules': { access: 'write', ok: 201, body: (c) => ({ name: `matrix-${c.n}`, cron: '0 0 1 1 *', template: { prompt: 'hi' } }) },
  'GET /api/schedules': { access: 'read', ok: 200 },
  'GET /api/schedules/{id}': { access: 'read', session: true, schedule: true, ok: 200 },
  'PATCH /api/schedules/{id}': { access: 'write', session: true, schedule: true, ok: 200, body: (c) => ({ name: `renamed-${c.n}` }) },
  'DELETE /api/schedules/{id}': { access: 'write', session: true, schedule: true, ok: 204, param: async (owner) => ({ id: await scheduleOf(owner) }) },
  'GET /api/schedules/{id}/runs': { access: 'read', session: true, schedule: true, ok: 200 },
  'GET /api/usage': { access: 'read', ok: 200 },
  'GET /api/approvals/{id}': { access: 'read', session: true, approval: true, ok: 200 },
  'POST /api/approvals/{id}/decision': { access: 'write', session: true, approval: true, ok: 200, body: () => ({ decision: 'deny', reason: 'matrix' }), param: async (owner) => ({ id: (await askFor(own[owner].id)).id }) },
};

/** A new schedule of `owner` (made with its key). */
async function scheduleOf(owner: 'alice' | 'bob'): Promise<string> {
  const r = await call(t.app, 'POST', '/api/schedules', { name: `m-${owner}-${++seq}`, cron: '0 0 1 1 *', template: { prompt: 'hi' } }, keys[owner]);
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.body.id as string;
}

/** A pending approval request of a session, as a turn's gate would make it. */
const askFor = (sessionId: string) =>
  t.approvals.request({ sessionId, turnId: own.alice.turn, toolUseId: undefined, call: { tool_name: 'Bash', tool_input: { command: `echo ${++seq}` } }, rule: undefined, policy: { default: 'ask', rules: [] } });

/** Who may use each access level: written out here on purpose, not imported from src/auth. */
const ALLOWS: Record<Access, readonly Role[]> = {
  public: ['admin', 'user', 'viewer', 'hook'],
  any: ['admin', 'user', 'viewer', 'hook'],
  hook: ['admin', 'user', 'hook'],
  read: ['admin', 'user', 'viewer'],
  write: ['admin', 'user'],
  admin: ['admin'],
};

/** `key` goes in Authorization: Bearer; `cookie` is a dashboard sign-in. */
type Caller = { name: string; role?: Role; key?: string; cookie?: string; owner?: 'alice' | 'bob' };

let t: TestApp;
let port: number;
let keys: Awaited<ReturnType<typeof roleKeys>>;
let callers: Caller[];
let seq = 0;
let ownersDir: string;
const own: Record<'alice' | 'bob', Seeded> = {} as never;

/** A session of `owner` with a workspace (diff, workspace), a message, a tool log and a hook event. */
async function seed(owner: 'alice' | 'bob'): Promise<Seeded> {
  fs.mkdirSync(path.join(ownersDir, owner), { recursive: true });
  const dir = fs.mkdtempSync(path.join(ownersDir, owner, 'work-'));
  const claude = `matrix-claude-${owner}`;
  // With a prompt the session gets a ready local workspace; /bin/false ends its turn at once.
  const s = await call(t.app, 'POST', '/api/sessions', { project_path: dir, prompt: 'hi', claude_session_id: claude }, keys[owner]);
  assert.equal(s.status, 201, JSON.stringify(s.body));
  const m = await call(t.app, 'POST', `/api/sessions/${s.body.id}/messages`, { direction: 'assistant', content: 'seed' }, keys[owner]);
  const l = await call(t.app, 'POST', '/api/hooks/tool-complete', { session_id: claude, tool_name: 'Bash', tool_use_id: `toolu_${owner}` }, keys.admin);
  const e = await call(t.app, 'POST', '/api/hooks/notification', { session_id: claude, message: 'seed' }, keys.admin);
  assert.equal(l.body.session_id, s.body.id);
  assert.equal(e.body.session_id, s.body.id);
  const approval = (await t.approvals.request({ sessionId: s.body.id, turnId: s.body.turn.id, toolUseId: undefined, call: { tool_name: 'Bash', tool_input: { command: `echo ${owner}` } }, rule: undefined, policy: { default: 'ask', rules: [] } })).id;
  return { id: s.body.id, claude, message: m.body.id, log: l.body.log_id, event: e.body.event_id, turn: s.body.turn.id, approval, schedule: await scheduleOf(owner) };
}

before(async () => {
  // User keys run only inside their own root (ALLOWED_ROOTS=.../{owner}).
  ownersDir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'cco-matrix-owners-')));
  t = await createTestApp({ auth: 'keys', runner: { claudePath: '/bin/false' }, workspaces: { allowedRoots: [ownersDir], ownerRoots: [path.join(ownersDir, '{owner}')] } });
  await t.app.listen({ host: '127.0.0.1', port: 0 });
  port = (t.app.server.address() as net.AddressInfo).port;
  keys = await roleKeys(t.auth);
  const revoked = (await t.auth.createKey({ name: 'revoked-k', role: 'admin' })).key;
  await t.auth.revoke('revoked-k');
  const expired = await t.auth.createKey({ name: 'expired-k', role: 'admin', expiresAt: new Date(Date.now() + 3_600_000) });
  // A key cannot be made already expired; moving its expiry into the past is what time would do.
  await sql`update api_keys set expires_at = now() - interval '1 minute' where id = ${expired.info.id}`.execute(t.db.database.db);
  // Dashboard sign-ins: a live one, and one signed out again.
  const cookieOf = async (key: string) => {
    const r = await call(t.app, 'POST', '/api/auth/signin', { key });
    return String(r.headers['set-cookie']).split(';')[0]!;
  };
  const aliceCookie = await cookieOf(keys.alice);
  const gone = await cookieOf(keys.viewer);
  await t.app.inject({ method: 'POST', url: '/api/auth/signout', headers: { cookie: gone } });
  callers = [
    { name: 'no key' },
    { name: 'bad key', key: 'cco_notarealkey0000000000000000000000' },
    { name: 'revoked key', key: revoked },
    { name: 'expired key', key: expired.key },
    { name: 'admin', role: 'admin', key: keys.admin },
    { name: 'alice', role: 'user', key: keys.alice, owner: 'alice' },
    { name: 'bob', role: 'user', key: keys.bob, owner: 'bob' },
    { name: 'viewer', role: 'viewer', key: keys.viewer },
    { name: 'hook', role: 'hook', key: keys.hook, owner: 'alice' },
    { name: 'alice signed in', role: 'user', cookie: aliceCookie, owner: 'alice' },
    { name: 'signed out', cookie: gone },
  ];
  own.alice = await seed('alice');
  own.bob = await seed('bob');
});
after(async () => {
  await t.close();
  fs.rmSync(ownersDir, { recursive: true, force: true });
});

/** The status class the table gives this caller on this route and session. */
function expected(rule: Rule, c: Caller, sessionOwner: 'alice' | 'bob'): { status: number; code?: string } {
  if (rule.access === 'public') return { status: rule.ok };
  if (!c.role) return { status: 401, code: 'unauthorized' };
  if (!ALLOWS[rule.access].includes(c.role)) return { status: 403, code: 'forbidden' };
  if (rule.session && c.role === 'user' && c.owner !== sessionOwner) return { status: 404, code: 'not_found' };
  return { status: rule.ok };
}

const keyOf = (method: string, p: string) => `${method.toUpperCase()} ${p}`;

describe('route × caller × owner matrix', () => {
  test('the table and the OpenAPI document list the same routes', async () => {
    const doc = (await call(t.app, 'GET', '/api/openapi.json')).body as OpenApiDoc;
    const documented = Object.entries(doc.paths).flatMap(([p, ops]) => Object.keys(ops).map((m) => keyOf(m, p))).sort();
    assert.deepEqual(documented, Object.keys(RULES).sort(), 'a route without a rule in RULES, or a rule without a route');
  });

  test('every route answers every caller as the table says', { timeout: 120_000 }, async () => {
    const wrong: string[] = [];
    let n = 0;
    // Sign-out last: it ends the signed-in callers' dashboard sessions.
    const routes = Object.entries(RULES).sort(([a], [b]) => Number(a === 'POST /api/auth/signout') - Number(b === 'POST /api/auth/signout'));
    for (const [route, rule] of routes) {
      const [method, template] = route.split(' ') as [string, string];
      for (const c of callers) {
        for (const owner of rule.session ? (['alice', 'bob'] as const) : (['alice'] as const)) {
          const ctx: Ctx = { session: own[owner], n: ++n };
          const want = expected(rule, c, owner);
          const fresh = want.status === rule.ok && rule.param ? await rule.param(owner) : {};
          const values: Record<string, string> = {
            id: rule.approval ? ctx.session.approval : rule.schedule ? ctx.session.schedule : ctx.session.id, event: 'notification', turn: String(ctx.session.turn), ...fresh,
            ...(rule.item ? { item_id: String(ctx.session[rule.item]) } : {}),
          };
          let url = template.replace(/\{(\w+)\}/g, (_m, k: string) => values[k] ?? '00000000-0000-4000-8000-000000000000');
          if (route === 'GET /api/auth/link') url += '?code=not-a-code';
          const body = rule.body?.(ctx);
          const cs: Case = { what: `${route} as ${c.name} on ${owner}'s`, method, path: url, body: body === undefined ? undefined : JSON.stringify(body) };
          const headers: Record<string, string> = c.key ? { authorization: `Bearer ${c.key}` } : c.cookie ? { cookie: c.cookie } : {};
          const o = await send(cs, { port, headers, timeoutMs: 5000 });
          const shape = problem(cs, o);
          if (shape) wrong.push(shape);
          if (o.status !== want.status) {
            wrong.push(`${cs.what}: ${o.status}, expected ${want.status}: ${o.body.slice(0, 160)}`);
            continue;
          }
          if (want.code && (JSON.parse(o.body) as { error: { code: string } }).error.code !== want.code) wrong.push(`${cs.what}: code ${o.body.slice(0, 160)}, expected ${want.code}`);
        }
      }
    }
    assert.ok(n > 300, `only ${n} requests`);
    assert.deepEqual(wrong, []);
    // The sign-out above, sent with alice's cookie, ended her dashboard session.
    const me = await send({ what: 'me', method: 'GET', path: '/api/me' }, { port, headers: { cookie: callers.find((c) => c.cookie && c.role)!.cookie! } });
    assert.equal(me.status, 401);
  });

  test("an item of bob's session asked for under alice's own session id is not found", async () => {
    for (const [kind, item] of [['messages', own.bob.message], ['logs', own.bob.log], ['events', own.bob.event]] as const) {
      for (const key of [keys.alice, keys.admin]) {
        const o = await call(t.app, 'GET', `/api/sessions/${own.alice.id}/${kind}/${item}`, undefined, key);
        assert.equal(o.status, 404, `${kind}/${item}: ${JSON.stringify(o.body)}`);
        assert.equal(o.body.error.code, 'not_found');
      }
      const mine = await call(t.app, 'GET', `/api/sessions/${own.bob.id}/${kind}/${item}`, undefined, keys.bob);
      assert.equal(mine.status, 200, kind);
    }
  });

  test('a bad key on a keyed route is 401 whichever way it is sent', async () => {
    for (const headers of [{ 'x-api-key': 'cco_wrong' } as Record<string, string>, { authorization: 'Basic YTpi' }, { authorization: 'Bearer' }, { cookie: 'cco_session=forged' }]) {
      const o = await send({ what: 'bad', method: 'GET', path: '/api/sessions' }, { port, headers });
      assert.equal(o.status, 401, JSON.stringify(headers));
      assert.equal(JSON.parse(o.body).error.code, 'unauthorized');
    }
    const ok = await send({ what: 'x-api-key', method: 'GET', path: '/api/me' }, { port, headers: { 'x-api-key': keys.bob } });
    assert.equal(JSON.parse(ok.body).name, 'bob');
  });
});
