/**
 * Issue 15, approvals, through HTTP and the real Claude Code binary on the scripted model: a policy
 * that denies, allows and asks; a call asked and approved while the turn waits; one approved after
 * the turn stopped waiting (10 minutes later on a moved clock), denied, timed out, approved after a
 * server restart; who may decide; the first answer wins. "Nothing ran" is checked on disk: every
 * call here would write a marker file in the workspace.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startModelServer, type ModelServer } from '../src/model-server/server.ts';
import type { ApprovalsConfig } from '../src/approvals/config.ts';
import { call, createTestApp, type TestApp } from './helpers/app.ts';
import { claudeTestEnv } from './helpers/claude.ts';
import { createTestDb, type TestDb } from './helpers/db.ts';
import { allMessages, waitFor, waitIdle } from './helpers/runner.ts';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

let model: ModelServer;
let configDir: string;
let env: Record<string, string>;
let now = Date.now();
const clock = () => new Date(now);

before(async () => {
  model = await startModelServer({ port: 0 });
  configDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cco-approvals-claude-'));
  env = claudeTestEnv({ baseUrl: model.url, configDir }) as Record<string, string>;
});
after(async () => {
  await model.close();
});

const ASK_BASH: ApprovalsConfig = { policy: { default: 'allow', rules: [{ tool: 'Bash', command: 'touch *', action: 'ask' }] }, waitMs: 1500, timeoutS: 86_400 };

function app(opts: { db?: TestDb; approvals?: ApprovalsConfig; auth?: 'keys' } = {}): Promise<TestApp> {
  return createTestApp({ db: opts.db, runner: { passEnv: env }, approvals: opts.approvals ?? ASK_BASH, approvalTimings: { clock, sweepMs: 200 }, ...(opts.auth ? { auth: opts.auth } : {}) });
}

/** A session whose first turn runs `touch <marker>` through Bash, then says "after". */
async function touchSession(t: TestApp, marker: string, extra: Json = {}, key?: string) {
  const script = JSON.stringify([{ tool: 'Bash', input: { command: `touch ${marker}`, description: 'mark' } }, { text: 'after the call' }]);
  const r = await call(t.app, 'POST', '/api/sessions', { prompt: `SCRIPT_JSON:${script}`, ...extra }, key);
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.body as Json;
}

const workspaceOf = async (t: TestApp, id: string) => (await call(t.app, 'GET', `/api/sessions/${id}`)).body.project_path as string;
const pendingOf = async (t: TestApp, id: string) => waitFor('a pending request', async () => ((await call(t.app, 'GET', `/api/approvals?session_id=${id}&status=pending`)).body.data as Json[])[0]);
const turnsOf = async (t: TestApp, id: string) => (await call(t.app, 'GET', `/api/sessions/${id}/turns`)).body.data as Json[];

describe('policy without a person', () => {
  let t: TestApp;
  before(async () => {
    t = await app({ approvals: { policy: { default: 'allow', rules: [{ tool: 'Bash', command: 'touch denied*', action: 'deny' }, { tool: 'Bash', command: 'touch ok*', action: 'allow' }] }, waitMs: 1000, timeoutS: 60 } });
  });
  after(() => t.close());

  test('a deny rule refuses the call: nothing runs, the log says so, the turn goes on', async () => {
    const s = await touchSession(t, 'denied.txt');
    await waitIdle(t, s.id, 1);
    assert.equal(fs.existsSync(path.join(await workspaceOf(t, s.id), 'denied.txt')), false);
    const logs = (await call(t.app, 'GET', `/api/sessions/${s.id}/logs`)).body.data as Json[];
    assert.equal(logs[0]!.status, 'error');
    assert.match(String(logs[0]!.result), /approval policy/);
    const turns = await turnsOf(t, s.id);
    assert.equal(turns[0]!.status, 'completed');
    assert.equal((await call(t.app, 'GET', '/api/approvals')).body.data.length, 0, 'a deny asks no one');
  });

  test('an allow rule lets a call run that the permission mode (default) would refuse', async () => {
    const s = await touchSession(t, 'ok.txt', { permission_mode: 'default' });
    await waitIdle(t, s.id, 1);
    assert.equal(fs.existsSync(path.join(await workspaceOf(t, s.id), 'ok.txt')), true);
    // Without the rule the same mode refuses it: the permission mode still applies to the rest.
    const other = await touchSession(t, 'other.txt', { permission_mode: 'default' });
    await waitIdle(t, other.id, 1);
    assert.equal(fs.existsSync(path.join(await workspaceOf(t, other.id), 'other.txt')), false);
  });
});

describe('ask', () => {
  let t: TestApp;
  before(async () => {
    t = await app();
  });
  after(() => t.close());

  test('approved while the turn waits: the call runs in the same turn, once', async () => {
    const s = await touchSession(t, 'fast.txt');
    const req = await pendingOf(t, s.id);
    assert.equal(req.tool_name, 'Bash');
    assert.equal(req.tool_input.command, 'touch fast.txt', 'the exact input');
    const ws = await workspaceOf(t, s.id);
    assert.equal(fs.existsSync(path.join(ws, 'fast.txt')), false, 'nothing ran before the allow');
    const session = (await call(t.app, 'GET', `/api/sessions/${s.id}`)).body;
    assert.equal(session.pending_approvals, 1);
    const d = await call(t.app, 'POST', `/api/approvals/${req.id}/decision`, { decision: 'allow', reason: 'fine' });
    assert.equal(d.status, 200, JSON.stringify(d.body));
    assert.equal(d.body.decided_by, 'local');
    await waitIdle(t, s.id, 1);
    assert.equal(fs.existsSync(path.join(ws, 'fast.txt')), true);
    const turns = await turnsOf(t, s.id);
    assert.equal(turns.length, 1, 'no continuation turn');
    assert.equal(turns[0]!.status, 'completed');
    const after = (await call(t.app, 'GET', `/api/approvals/${req.id}`)).body;
    assert.ok(after.consumed_at);
    assert.equal(after.continued_turn_id, null);
  });

  test('approved 10 minutes after the turn stopped waiting: the session continues and the same call runs', async () => {
    const s = await touchSession(t, 'late.txt');
    const req = await pendingOf(t, s.id);
    await waitIdle(t, s.id, 1);
    const ws = await workspaceOf(t, s.id);
    const [turn] = await turnsOf(t, s.id);
    assert.equal(turn!.status, 'interrupted');
    const notes = (await allMessages(t, s.id)).filter((m) => m.direction === 'system');
    assert.match(notes.at(-1)!.content, /waits for a person's approval/);
    assert.equal(fs.existsSync(path.join(ws, 'late.txt')), false);
    now += 10 * 60_000;
    await t.approvals.sweep();
    assert.equal((await call(t.app, 'GET', `/api/approvals/${req.id}`)).body.status, 'pending', 'still waiting 10 minutes later');
    const d = await call(t.app, 'POST', `/api/approvals/${req.id}/decision`, { decision: 'allow', via: 'dashboard' });
    assert.equal(d.status, 200);
    await waitIdle(t, s.id, 2);
    assert.equal(fs.existsSync(path.join(ws, 'late.txt')), true, 'the approved call ran');
    const done = (await call(t.app, 'GET', `/api/approvals/${req.id}`)).body;
    assert.ok(done.continued_turn_id > 0);
    assert.ok(done.consumed_at);
    assert.equal(done.decided_via, 'dashboard');
    const messages = await allMessages(t, s.id);
    assert.match(messages.find((m) => (m.metadata as Json).approval)!.content, /allowed your Bash call/);
    assert.equal(messages.at(-1)!.content, 'Finished the approved call.');
    // The first answer wins; a second one is told who decided and when.
    const again = await call(t.app, 'POST', `/api/approvals/${req.id}/decision`, { decision: 'deny' });
    assert.equal(again.status, 409);
    assert.equal(again.body.error.code, 'already_decided');
    assert.match(again.body.error.message, /allowed by local at \d{4}-/);
    assert.equal(again.body.error.details.decided_by, 'local');
  });

  test('denied: the session continues with the reason and the call never runs', async () => {
    const s = await touchSession(t, 'denied.txt');
    const req = await pendingOf(t, s.id);
    await waitIdle(t, s.id, 1);
    await call(t.app, 'POST', `/api/approvals/${req.id}/decision`, { decision: 'deny', reason: 'not on a Friday' });
    await waitIdle(t, s.id, 2);
    assert.equal(fs.existsSync(path.join(await workspaceOf(t, s.id), 'denied.txt')), false);
    const prompt = (await allMessages(t, s.id)).find((m) => (m.metadata as Json).approval)!;
    assert.match(prompt.content, /denied your Bash call\. Reason: not on a Friday/);
  });

  test('unanswered: the request expires to the policy timeout action (deny) and the session is told', async () => {
    const s = await touchSession(t, 'expired.txt');
    const req = await pendingOf(t, s.id);
    await waitIdle(t, s.id, 1);
    // A pass already running read the clock before it moved (the periodic sweep can be mid-pass):
    // the sweep asked for after the move must still see it.
    const running = t.approvals.sweep();
    now += 86_400_000 + 1000;
    await t.approvals.sweep();
    await running;
    const expired = (await call(t.app, 'GET', `/api/approvals/${req.id}`)).body;
    assert.equal(expired.status, 'expired');
    assert.equal(expired.decided_via, 'timeout');
    await waitIdle(t, s.id, 2);
    assert.equal(fs.existsSync(path.join(await workspaceOf(t, s.id), 'expired.txt')), false);
    assert.equal((await call(t.app, 'POST', `/api/approvals/${req.id}/decision`, { decision: 'allow' })).status, 409);
  });

  test('the policy in force is stored with each turn and shown with the session; listing filters and pages', async () => {
    const s = await touchSession(t, 'listed.txt', { policy: { default: 'allow', rules: [{ tool: 'Read', action: 'deny' }] } });
    await waitIdle(t, s.id, 1);
    const session = (await call(t.app, 'GET', `/api/sessions/${s.id}`)).body;
    assert.equal(session.policy.mode, 'replace', 'an admin (AUTH=off: local) replaces the server policy');
    const [turn] = await turnsOf(t, s.id);
    assert.deepEqual(turn!.policy.server, ASK_BASH.policy);
    assert.deepEqual(turn!.policy.session.policy.rules, [{ tool: 'Read', action: 'deny' }]);
    // This session's own policy does not ask for touch (it replaced the server's), so it ran.
    assert.equal(fs.existsSync(path.join(await workspaceOf(t, s.id), 'listed.txt')), true);
    const page1 = await call(t.app, 'GET', '/api/approvals?limit=2');
    assert.equal(page1.body.data.length, 2);
    assert.ok(page1.body.next_cursor);
    const page2 = await call(t.app, 'GET', `/api/approvals?limit=2&cursor=${page1.body.next_cursor}`);
    const ids = [...page1.body.data, ...page2.body.data].map((a: Json) => a.id);
    assert.equal(new Set(ids).size, ids.length, 'pages do not overlap');
    assert.equal((await call(t.app, 'GET', '/api/approvals?status=maybe')).status, 400);
    assert.equal((await call(t.app, 'POST', `/api/approvals/${ids[0]}/decision`, { decision: 'perhaps' })).status, 400);
    assert.equal((await call(t.app, 'POST', '/api/approvals/00000000-0000-4000-8000-000000000000/decision', { decision: 'allow' })).status, 404);
    const audit = (await call(t.app, 'GET', '/api/audit?limit=200')).body.data as Json[];
    assert.ok(audit.some((e) => e.action === 'approval.requested'));
    assert.ok(audit.some((e) => e.action === 'approval.decided' && e.detail.decision === 'allowed'));
  });
});

describe('who decides', () => {
  let t: TestApp;
  before(async () => {
    t = await app({ auth: 'keys' });
  });
  after(() => t.close());

  test("a user's policy only narrows the server's; only the owner, an admin or a named approver decides", async () => {
    const alice = (await t.auth.createKey({ name: 'alice', role: 'user' })).key;
    const bob = (await t.auth.createKey({ name: 'bob', role: 'user' })).key;
    const carol = (await t.auth.createKey({ name: 'carol', role: 'user' })).key;
    const admin = (await t.auth.createKey({ name: 'root', role: 'admin' })).key;
    // Alice tries to allow every Bash call: the server's ask still applies (narrow), and she names carol.
    const s = await touchSession(t, 'team.txt', { policy: { default: 'allow', rules: [{ tool: 'Bash', action: 'allow' }], approvers: ['carol'] } }, alice);
    const req = await waitFor('pending', async () => ((await call(t.app, 'GET', `/api/approvals?session_id=${s.id}`, undefined, alice)).body.data as Json[])[0]);
    assert.equal((await call(t.app, 'GET', `/api/sessions/${s.id}`, undefined, alice)).body.policy.mode, 'narrow');
    assert.deepEqual(req.approvers, ['carol']);
    assert.equal((await call(t.app, 'GET', `/api/approvals/${req.id}`, undefined, bob)).status, 404, "bob does not see alice's request");
    assert.equal((await call(t.app, 'POST', `/api/approvals/${req.id}/decision`, { decision: 'allow' }, bob)).status, 404);
    assert.equal(((await call(t.app, 'GET', '/api/approvals', undefined, carol)).body.data as Json[]).length, 1, 'carol sees what names her');
    const d = await call(t.app, 'POST', `/api/approvals/${req.id}/decision`, { decision: 'allow', scope: 'session' }, carol);
    assert.equal(d.status, 200, JSON.stringify(d.body));
    assert.equal(d.body.scope, 'session');
    const late = await call(t.app, 'POST', `/api/approvals/${req.id}/decision`, { decision: 'deny' }, admin);
    assert.equal(late.status, 409);
    assert.equal(late.body.error.details.decided_by, 'carol');
  });
});

describe('restart', () => {
  test('a request left pending by a stopped server is decided on the next one, and the call runs there', async () => {
    const db = await createTestDb();
    try {
      const first = await app({ db });
      const s = await touchSession(first, 'restart.txt');
      const req = await pendingOf(first, s.id);
      await waitIdle(first, s.id, 1);
      const ws = await workspaceOf(first, s.id);
      await first.close();
      assert.equal(fs.existsSync(path.join(ws, 'restart.txt')), false);
      const second = await app({ db });
      try {
        assert.equal((await call(second.app, 'POST', `/api/approvals/${req.id}/decision`, { decision: 'allow' })).status, 200);
        await waitIdle(second, s.id, 2);
        assert.equal(fs.existsSync(path.join(ws, 'restart.txt')), true);
      } finally {
        await second.close();
      }
    } finally {
      await db.close();
    }
  });
});
