/**
 * Issue 11, security suite: lists and the live stream carry only what the caller may read.
 * alice's list and stream hold only alice's sessions; a viewer sees every one; a hook token
 * makes sessions owned by its installing user and reads nothing.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import { call, createTestApp, roleKeys, type TestApp } from '../helpers/app.ts';
import { openSse, type SseClient } from '../helpers/sse.ts';

let t: TestApp;
let base: string;
let keys: Awaited<ReturnType<typeof roleKeys>>;
const ids: Record<'alice' | 'bob', string[]> = { alice: [], bob: [] };

before(async () => {
  t = await createTestApp({ auth: 'keys' });
  await t.app.listen({ host: '127.0.0.1', port: 0 });
  base = `http://127.0.0.1:${(t.app.server.address() as net.AddressInfo).port}`;
  keys = await roleKeys(t.auth);
  for (const owner of ['alice', 'bob', 'alice', 'bob', 'bob'] as const) {
    const s = await call(t.app, 'POST', '/api/sessions', { project_path: `/srv/vis/${owner}`, metadata: {} }, keys[owner]);
    assert.equal(s.status, 201);
    assert.equal(s.body.owner, owner);
    ids[owner].push(s.body.id);
  }
});
after(async () => {
  await t.close();
});

const listed = async (key: string, query = '') => {
  const r = await call(t.app, 'GET', `/api/sessions?limit=100${query}`, undefined, key);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return (r.body.data as { id: string; owner: string }[]).map((s) => s.id).sort();
};

/** Data of the session events seen on a stream (every event type carries session_id or session.id). */
const sessionIdsOn = (c: SseClient) =>
  new Set(c.events.filter((e) => e.event !== 'ready' && e.event !== 'heartbeat').map((e) => {
    const d = JSON.parse(e.data) as { session_id?: string; session?: { id: string } };
    return d.session_id ?? d.session?.id;
  }));

describe('lists and streams are filtered by owner', () => {
  test("GET /api/sessions: alice and bob see their own; viewer and admin see all; search does not widen it", async () => {
    const all = [...ids.alice, ...ids.bob].sort();
    assert.deepEqual(await listed(keys.alice), [...ids.alice].sort());
    assert.deepEqual(await listed(keys.bob), [...ids.bob].sort());
    assert.deepEqual(await listed(keys.viewer), all);
    assert.deepEqual(await listed(keys.admin), all);
    // A text search matching bob's project path finds nothing of bob's for alice.
    assert.deepEqual(await listed(keys.alice, '&contains=vis%2Fbob'), []);
    assert.deepEqual(await listed(keys.bob, '&contains=vis%2Fbob'), [...ids.bob].sort());
  });

  test("GET /api/events as alice carries no event of bob's sessions; the viewer's carries both", { timeout: 30_000 }, async () => {
    const alice = await openSse(`${base}/api/events`, { authorization: `Bearer ${keys.alice}` });
    const viewer = await openSse(`${base}/api/events`, { authorization: `Bearer ${keys.viewer}` });
    try {
      assert.equal(alice.status, 200);
      await alice.waitFor((e) => e.event === 'ready');
      await viewer.waitFor((e) => e.event === 'ready');
      // bob's changes first, then alice's: once alice's last event arrived, bob's would have too.
      for (const id of ids.bob) await call(t.app, 'POST', `/api/sessions/${id}/messages`, { direction: 'assistant', content: 'bob secret' }, keys.bob);
      const fresh = await call(t.app, 'POST', '/api/sessions', { project_path: '/srv/vis/bob-new', metadata: {} }, keys.bob);
      await call(t.app, 'PATCH', `/api/sessions/${ids.bob[0]}`, { metadata: { x: 1 } }, keys.admin);
      const last = await call(t.app, 'POST', `/api/sessions/${ids.alice[0]}/messages`, { direction: 'assistant', content: 'alice last' }, keys.alice);
      const lastOf = (e: { event: string; data: string }) => e.event === 'message.created' && (JSON.parse(e.data) as { id?: number; message?: { id: number } }).message?.id === last.body.id
        || (JSON.parse(e.data) as { id?: number }).id === last.body.id;
      await alice.waitFor(lastOf);
      await viewer.waitFor(lastOf);
      const seenByAlice = sessionIdsOn(alice);
      for (const id of [...ids.bob, fresh.body.id]) assert.ok(!seenByAlice.has(id), `alice's stream carried an event of bob's session ${id}`);
      assert.ok(!alice.events.some((e) => e.data.includes('bob secret')), "bob's message text reached alice's stream");
      assert.ok(seenByAlice.has(ids.alice[0]));
      const seenByViewer = sessionIdsOn(viewer);
      for (const id of [...ids.bob, ids.alice[0]]) assert.ok(seenByViewer.has(id), `the viewer's stream missed ${id}`);
    } finally {
      alice.close();
      viewer.close();
    }
  });

  test("alice asking the stream for bob's session gets 404; for her own, 200", async () => {
    const other = await fetch(`${base}/api/events?session_id=${ids.bob[0]}`, { headers: { authorization: `Bearer ${keys.alice}` } });
    assert.equal(other.status, 404);
    assert.equal(((await other.json()) as { error: { code: string } }).error.code, 'not_found');
    const ctl = new AbortController();
    const mine = await fetch(`${base}/api/events?session_id=${ids.alice[0]}`, { headers: { authorization: `Bearer ${keys.alice}` }, signal: ctl.signal });
    assert.equal(mine.status, 200);
    ctl.abort();
  });

  test("a hook token's events make sessions owned by its user; it reads nothing", async () => {
    const r = await call(t.app, 'POST', '/api/hooks/tool-complete', { session_id: 'vis-hand-started', tool_name: 'Bash', tool_use_id: 'toolu_vis_1', cwd: '/srv/vis/hand' }, keys.hook);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const s = await call(t.app, 'GET', `/api/sessions/${r.body.session_id}`, undefined, keys.admin);
    assert.equal(s.body.owner, 'alice');
    assert.ok((await listed(keys.alice)).includes(r.body.session_id), "the hook token's session is in alice's list");
    assert.ok(!(await listed(keys.bob)).includes(r.body.session_id));
    for (const url of ['/api/sessions', `/api/sessions/${r.body.session_id}`, '/api/events', '/api/keys']) {
      const o = await call(t.app, 'GET', url, undefined, keys.hook);
      assert.equal(o.status, 403, url);
      assert.equal(o.body.error.code, 'forbidden');
    }
  });

  test("hook events cannot write into another owner's session, by any hook route, with a hook token or a user key", async () => {
    const claude = `vis-bob-${Date.now()}`;
    const bobs = await call(t.app, 'POST', '/api/sessions', { project_path: '/srv/vis/bob-claude', claude_session_id: claude, metadata: {} }, keys.bob);
    assert.equal(bobs.status, 201);
    const tool = { session_id: claude, tool_name: 'Bash', tool_use_id: `toolu_${claude}`, cwd: '/srv/x', tool_input: { command: 'id' }, tool_response: { stdout: 'x' } };
    for (const key of [keys.hook, keys.alice]) {
      const single = await call(t.app, 'POST', '/api/hooks/tool-complete', tool, key);
      assert.equal(single.status, 404, JSON.stringify(single.body));
      assert.equal(JSON.stringify(single.body).includes(bobs.body.id), false, "the answer does not name bob's session");
      const end = await call(t.app, 'POST', '/api/hooks/session-end', { session_id: claude, hook_event_name: 'SessionEnd' }, key);
      assert.equal(end.status, 404);
      const prompt = await call(t.app, 'POST', '/api/hooks/user-prompt-submit', { session_id: claude, hook_event_name: 'UserPromptSubmit', prompt: 'injected' }, key);
      assert.equal(prompt.status, 404);
      const batch = await call(t.app, 'POST', '/api/hooks/batch', { events: [
        { event: 'PostToolUse', id: `b1-${key.slice(4, 10)}`, payload: { ...tool, tool_use_id: `toolu_b_${key.slice(4, 10)}` } },
        { event: 'Stop', id: `b2-${key.slice(4, 10)}`, payload: { session_id: claude, last_assistant_message: 'injected' } },
      ] }, key);
      assert.equal(batch.status, 200);
      assert.deepEqual(batch.body.results.map((r: { status: string; code?: string }) => [r.status, r.code]), [['refused', 'not_found'], ['refused', 'not_found']]);
    }
    const logs = await call(t.app, 'GET', `/api/sessions/${bobs.body.id}/logs`, undefined, keys.bob);
    const events = await call(t.app, 'GET', `/api/sessions/${bobs.body.id}/events`, undefined, keys.bob);
    const messages = await call(t.app, 'GET', `/api/sessions/${bobs.body.id}/messages`, undefined, keys.bob);
    const session = await call(t.app, 'GET', `/api/sessions/${bobs.body.id}`, undefined, keys.bob);
    assert.deepEqual([logs.body.data.length, events.body.data.length, messages.body.data.length, session.body.status], [0, 0, 0, 'active'], "nothing landed in bob's session");
    // Admin keys may write to any session (hand-run sessions re-attributed by an operator).
    assert.equal((await call(t.app, 'POST', '/api/hooks/tool-complete', tool, keys.admin)).status, 200);
  });
});
