/**
 * Run and wait (issue 14, point 2) in one process: `wait` on both POST routes and on
 * GET /api/sessions/:id/turns/:turn, Idempotency-Key, close_after and the validation of all three.
 * The runner drives the real Claude Code against the scripted model server. The same across
 * processes (ROLE=api + ROLE=runner) is in run-wait-processes.test.ts.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, test } from 'node:test';
import { call } from './helpers/app.ts';
import { allMessages, createRunnerHarness, waitFor, type RunnerHarness } from './helpers/runner.ts';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

let h: RunnerHarness;
before(async () => {
  h = await createRunnerHarness();
});
after(async () => {
  await h.close();
});

/** A request with headers (call() sends none but Authorization). */
async function send(method: 'GET' | 'POST' | 'PATCH', url: string, body?: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: Json; headers: Record<string, unknown> }> {
  const res = await h.t.app.inject({ method, url, headers, ...(body !== undefined ? { payload: body as object } : {}) });
  return { status: res.statusCode, body: res.json() as Json, headers: res.headers };
}

const sessionsTagged = async (tag: string) => (await call(h.t.app, 'GET', `/api/sessions?contains=${tag}&limit=200`)).body.data as Json[];

test('create with wait answers when the turn ends: the answer, status, cost, duration and tokens', async () => {
  const r = await send('POST', '/api/sessions', { prompt: 'hello there', wait: 120 });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  assert.equal(r.body.managed, true, 'the session shape is kept');
  assert.equal(r.body.turn.status, 'completed');
  assert.equal(r.body.turn.answer, 'Done: hello there');
  assert.ok(r.body.turn.cost_usd > 0);
  assert.equal(typeof r.body.turn.duration_ms, 'number');
  assert.ok(r.body.turn.input_tokens > 0 && r.body.turn.output_tokens > 0);
  assert.equal(r.body.turn.error, null);
  assert.equal(r.body.turn.wait_url, null);
  assert.equal(r.body.turn_state, 'idle', 'answered once the session settled');
  assert.equal(r.body.status, 'active');

  const m = await send('POST', `/api/sessions/${r.body.id}/messages`, { direction: 'user', content: 'and again', wait: 120 });
  assert.equal(m.status, 201, JSON.stringify(m.body));
  assert.equal(m.body.content, 'and again', 'the message shape is kept');
  assert.equal(m.body.turn.answer, 'Done: and again');
  assert.notEqual(m.body.turn.id, r.body.turn.id);

  const one = await send('GET', `/api/sessions/${r.body.id}/turns/${r.body.turn.id}`);
  assert.equal(one.status, 200);
  assert.equal(one.body.answer, 'Done: hello there', "a turn's answer stays its own after later turns");
});

test('without wait the answer is as before: 201 at once with the queued turn', async () => {
  const r = await send('POST', '/api/sessions', { prompt: 'no wait' });
  assert.equal(r.status, 201);
  assert.equal(r.body.turn.state, 'queued');
  assert.equal(r.body.turn.answer, undefined);
});

test('a wait that runs out answers 202 with where to wait; GET ...?wait= waits again and answers when the turn ends', async () => {
  const r = await send('POST', '/api/sessions', { prompt: 'SCRIPT:sleep', allowed_tools: ['Bash'], wait: 1 });
  assert.equal(r.status, 202, JSON.stringify(r.body));
  assert.ok(['queued', 'running'].includes(r.body.turn.status));
  assert.equal(r.body.turn.answer, null);
  const id = r.body.id as string;
  assert.equal(r.body.turn.wait_url, `/api/sessions/${id}/turns/${r.body.turn.id}?wait=600`);

  const now = await send('GET', `/api/sessions/${id}/turns/${r.body.turn.id}`);
  assert.equal(now.status, 200, 'without wait: the turn as it is');
  assert.ok(['queued', 'running'].includes(now.body.status));
  const t0 = Date.now();
  const short = await send('GET', `/api/sessions/${id}/turns/${r.body.turn.id}?wait=1`);
  assert.equal(short.status, 202);
  assert.ok(Date.now() - t0 >= 900, 'it waited');

  // A long wait in progress ends as soon as the turn does (closing the session interrupts it).
  await waitFor('the turn running', async () => (await call(h.t.app, 'GET', `/api/sessions/${id}`)).body.turn_state === 'running');
  const waiting = send('GET', r.body.turn.wait_url as string);
  await new Promise((res) => setTimeout(res, 500));
  const t1 = Date.now();
  assert.equal((await call(h.t.app, 'PATCH', `/api/sessions/${id}`, { status: 'completed' })).status, 200);
  const ended = await waiting;
  assert.equal(ended.status, 200, JSON.stringify(ended.body));
  assert.equal(ended.body.status, 'interrupted');
  assert.equal(ended.body.wait_url, null);
  assert.ok(Date.now() - t1 < 15_000, `answered when the turn ended (${Date.now() - t1} ms), not at the deadline`);
});

test('bad wait values are 400 with a clear message', async () => {
  const cases: Array<[string, string, unknown]> = [
    ['POST', '/api/sessions', { prompt: 'x', wait: 601 }],
    ['POST', '/api/sessions', { prompt: 'x', wait: -1 }],
    ['POST', '/api/sessions', { prompt: 'x', wait: 1.5 }],
    ['POST', '/api/sessions', { prompt: 'x', wait: 'soon' }],
    ['POST', '/api/sessions', { project_path: '/tmp', wait: 5 }],
  ];
  for (const [method, url, body] of cases) {
    const r = await send(method as 'POST', url, body);
    assert.equal(r.status, 400, `${JSON.stringify(body)} -> ${JSON.stringify(r.body)}`);
    assert.match(r.body.error.message, /wait/, JSON.stringify(r.body));
  }
  const over = await send('POST', '/api/sessions', { prompt: 'x', wait: 601 });
  assert.equal(over.body.error.code, 'invalid_wait');
  assert.match(over.body.error.message, /0 to 600 \(WAIT_MAX_S\)/);
  const created = await send('POST', '/api/sessions', { prompt: 'for the GETs', wait: 120 });
  for (const q of ['wait=601', 'wait=-2', 'wait=abc', 'wait=1.5']) {
    const r = await send('GET', `/api/sessions/${created.body.id}/turns/${created.body.turn.id}?${q}`);
    assert.equal(r.status, 400, `${q} -> ${JSON.stringify(r.body)}`);
    assert.match(r.body.error.message, /wait/);
  }
  const noTurn = await send('POST', `/api/sessions/${created.body.id}/messages`, { direction: 'assistant', content: 'a note', wait: 5 });
  assert.equal(noTurn.status, 400);
  assert.equal(noTurn.body.error.code, 'invalid_wait');
  assert.equal((await send('GET', `/api/sessions/${created.body.id}/turns/999999`)).status, 404);
  assert.ok((await sessionsTagged('no-such-tag-at-all')).length === 0);
});

test('Idempotency-Key: a repeat gets the first answer and makes nothing; another body with the key is 422', async () => {
  const tag = `idem-${randomUUID()}`;
  const key = randomUUID();
  const body = { prompt: 'idempotent hello', metadata: { tag }, wait: 120 };
  const first = await send('POST', '/api/sessions', body, { 'idempotency-key': key });
  assert.equal(first.status, 201, JSON.stringify(first.body));
  assert.equal(first.headers['idempotent-replayed'], undefined);
  const again = await send('POST', '/api/sessions', body, { 'idempotency-key': key });
  assert.equal(again.status, 201);
  assert.deepEqual(again.body, first.body, 'the same answer');
  assert.equal(again.headers['idempotent-replayed'], 'true');
  // `wait` is not part of the request a key stands for.
  const noWait = await send('POST', '/api/sessions', { prompt: 'idempotent hello', metadata: { tag } }, { 'idempotency-key': key });
  assert.deepEqual(noWait.body, first.body);
  assert.equal((await sessionsTagged(tag)).length, 1, 'one session');

  const other = await send('POST', '/api/sessions', { prompt: 'something else', metadata: { tag } }, { 'idempotency-key': key });
  assert.equal(other.status, 422);
  assert.equal(other.body.error.code, 'idempotency_key_reused');
  assert.equal((await sessionsTagged(tag)).length, 1);

  // Messages: one message and one turn for two requests.
  const mkey = randomUUID();
  const m1 = await send('POST', `/api/sessions/${first.body.id}/messages`, { direction: 'user', content: 'once only', wait: 120 }, { 'idempotency-key': mkey });
  const m2 = await send('POST', `/api/sessions/${first.body.id}/messages`, { direction: 'user', content: 'once only', wait: 120 }, { 'idempotency-key': mkey });
  assert.equal(m1.status, 201);
  assert.deepEqual(m2.body, m1.body);
  assert.equal((await allMessages(h.t, first.body.id)).filter((m) => m.content === 'once only').length, 1);
  const turns = (await call(h.t.app, 'GET', `/api/sessions/${first.body.id}/turns`)).body.data as Json[];
  assert.equal(turns.length, 2);
  // The same key on another route is another request.
  const cross = await send('POST', `/api/sessions/${first.body.id}/messages`, { direction: 'user', content: 'idempotent hello' }, { 'idempotency-key': key });
  assert.equal(cross.status, 422);

  const bad = await send('POST', '/api/sessions', body, { 'idempotency-key': 'has space' });
  assert.equal(bad.status, 400);
  assert.equal(bad.body.error.code, 'invalid_idempotency_key');
});

test('Idempotency-Key: concurrent requests with one key make one session', async () => {
  const tag = `idem-conc-${randomUUID()}`;
  const key = randomUUID();
  const body = { prompt: 'concurrent hello', metadata: { tag }, wait: 120 };
  const all = await Promise.all(Array.from({ length: 6 }, () => send('POST', '/api/sessions', body, { 'idempotency-key': key })));
  const ok = all.filter((r) => r.status === 201);
  assert.ok(ok.length >= 1, JSON.stringify(all.map((r) => r.status)));
  for (const r of all) {
    if (r.status === 201) assert.equal(r.body.id, ok[0]!.body.id);
    else assert.deepEqual([r.status, r.body.error.code], [409, 'idempotency_key_in_progress']);
  }
  assert.equal((await sessionsTagged(tag)).length, 1, 'one session');
  const later = await send('POST', '/api/sessions', body, { 'idempotency-key': key });
  assert.equal(later.body.id, ok[0]!.body.id);
  assert.equal(later.body.turn.answer, 'Done: concurrent hello');
});

test('Idempotency-Key: a request refused before it made anything frees its key', async () => {
  const key = randomUUID();
  const tag = `idem-free-${randomUUID()}`;
  const refused = await send('POST', '/api/sessions', { metadata: { tag } }, { 'idempotency-key': key });
  assert.equal(refused.status, 400, JSON.stringify(refused.body));
  const fixed = await send('POST', '/api/sessions', { prompt: 'fixed', metadata: { tag }, wait: 120 }, { 'idempotency-key': key });
  assert.equal(fixed.status, 201, JSON.stringify(fixed.body));
  assert.equal(fixed.body.turn.answer, 'Done: fixed');
});

test('close_after: the session is closed when its turn ends, with or without a waiting client', async () => {
  const waited = await send('POST', '/api/sessions', { prompt: 'close me', close_after: true, wait: 120 });
  assert.equal(waited.status, 201, JSON.stringify(waited.body));
  assert.equal(waited.body.turn.close_after, true);
  assert.equal(waited.body.turn.answer, 'Done: close me');
  assert.equal(waited.body.status, 'completed', 'answered once closed');

  const unwatched = await send('POST', '/api/sessions', { prompt: 'close me later', close_after: true });
  assert.equal(unwatched.status, 201);
  await waitFor('closed by the server', async () => (await call(h.t.app, 'GET', `/api/sessions/${unwatched.body.id}`)).body.status === 'completed');

  const open = await send('POST', '/api/sessions', { prompt: 'stay open', wait: 120 });
  const msg = await send('POST', `/api/sessions/${open.body.id}/messages`, { direction: 'user', content: 'last one', close_after: true, wait: 120 });
  assert.equal(msg.status, 201, JSON.stringify(msg.body));
  const s = (await call(h.t.app, 'GET', `/api/sessions/${open.body.id}`)).body;
  assert.equal(s.status, 'completed');
  await waitFor('the close audited as the server\'s, with its reason', async () => {
    const audit = (await call(h.t.app, 'GET', `/api/audit?target=session:${open.body.id}&action=session.status_changed&limit=200`)).body.data as Json[];
    return audit.some((e) => e.actor === 'system' && e.detail?.reason === 'close_after' && e.detail?.to === 'completed');
  }, 10_000);

  const noPrompt = await send('POST', '/api/sessions', { project_path: '/tmp', close_after: true });
  assert.equal(noPrompt.status, 400);
  assert.match(noPrompt.body.error.message, /close_after/);
});
