import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { parseDurableId, comparePositions } from '../src/events/position.ts';
import { call, createTestApp, type TestApp } from './helpers/app.ts';
import { recordEvents, type EventRecorder } from './helpers/events.ts';
import { openSse, type SseClient } from './helpers/sse.ts';

let t: TestApp;
let base: string;
let live: EventRecorder;
const clients: SseClient[] = [];

async function sse(path: string, headers: Record<string, string> = {}) {
  const c = await openSse(`${base}${path}`, headers);
  clients.push(c);
  return c;
}

before(async () => {
  t = await createTestApp({ eventCapacity: 20, sse: { heartbeatMs: 200 } });
  base = await t.app.listen({ host: '127.0.0.1', port: 0 });
  live = recordEvents(t.events);
});
after(async () => {
  for (const c of clients) c.close();
  await t.close();
});

/** A new session, once its session.created event went out (delivery is asynchronous: through live_events). */
const newSession = async () => {
  const id = (await call(t.app, 'POST', '/api/sessions', { project_path: '/srv/sse' })).body.id as string;
  await live.until((es) => es.some((e) => e.type === 'session.created' && e.session_id === id), 'session.created');
  return id;
};
const position = (id: string | undefined) => {
  const p = parseDurableId(id ?? '');
  assert.ok(p, `a durable event id: ${id}`);
  return p;
};
/** Posts a message and waits until its event went out. */
const say = async (id: string, content: string) => {
  await call(t.app, 'POST', `/api/sessions/${id}/messages`, { direction: 'assistant', content });
  await live.until((es) => es.some((e) => e.type === 'message.created' && e.message.session_id === id && e.message.content === content), `message ${content}`);
};

describe('GET /api/events', () => {
  test('streams stored changes live with id = <xid>.<seq>, after a ready event', async () => {
    const c = await sse('/api/events');
    assert.equal(c.status, 200);
    assert.match(String(c.headers['content-type']), /^text\/event-stream/);
    const ready = await c.waitFor((e) => e.event === 'ready');
    const start = position(ready.id);
    assert.equal(JSON.parse(ready.data).id, ready.id);
    assert.equal(JSON.parse(ready.data).replayed, 0);
    const id = await newSession();
    await say(id, 'hello');
    const created = await c.waitFor((e) => e.event === 'session.created');
    const msg = await c.waitFor((e) => e.event === 'message.created');
    const body = JSON.parse(msg.data);
    assert.equal(body.session_id, id);
    assert.equal(body.message.content, 'hello');
    assert.equal(body.seq, undefined, 'the position is the SSE id, not part of the event');
    assert.ok(comparePositions(position(created.id), start) > 0 && comparePositions(position(msg.id), position(created.id)) > 0);
  });

  test('Last-Event-ID replays exactly what was missed; ?since= does the same', async () => {
    const id = await newSession();
    const mark = t.events.lastId;
    await say(id, 'one');
    await say(id, 'two');
    for (const c of [await sse('/api/events', { 'last-event-id': String(mark) }), await sse(`/api/events?since=${mark}`)]) {
      const ready = await c.waitFor((e) => e.event === 'ready');
      const replayed = c.events.filter((e) => e.event === 'message.created').map((e) => JSON.parse(e.data).message.content);
      assert.deepEqual(replayed, ['one', 'two']);
      assert.equal(JSON.parse(ready.data).replayed, 2);
      assert.equal(ready.id, t.events.lastId);
    }
  });

  test('a gap older than the memory buffer is replayed from the table, in order', async () => {
    const id = await newSession();
    const mark = t.events.lastId;
    for (let i = 0; i < 45; i++) await say(id, `m${i}`); // capacity is 20 (and each message also updates the session)
    const c = await sse('/api/events', { 'last-event-id': String(mark) });
    const ready = await c.waitFor((e) => e.event === 'ready');
    const got = c.events.filter((e) => e.event === 'message.created').map((e) => JSON.parse(e.data).message.content);
    assert.deepEqual(got, Array.from({ length: 45 }, (_, i) => `m${i}`));
    assert.equal(JSON.parse(ready.data).reset, false);
    assert.equal(c.events.filter((e) => e.event === 'reset').length, 0);
    const ids = c.events.filter((e) => e.event !== 'ready' && e.event !== 'heartbeat').map((e) => position(e.id));
    assert.ok(ids.every((p, i) => i === 0 || comparePositions(p, ids[i - 1]!) > 0), 'ids increase');
  });

  test('an id of the old in-process format gets a reset event instead of a replay', async () => {
    const c = await sse('/api/events', { 'last-event-id': `${'1a2b3c4d'}-5` });
    const reset = await c.waitFor((e) => e.event === 'reset');
    assert.equal(JSON.parse(reset.data).id, reset.id);
    assert.equal(JSON.parse((await c.waitFor((e) => e.event === 'ready')).data).reset, true);
  });

  test('session_id filters the stream, including the replay', async () => {
    const a = await newSession();
    const b = await newSession();
    const mark = t.events.lastId;
    await say(a, 'for a');
    await say(b, 'for b');
    const c = await sse(`/api/events?session_id=${b}&since=${mark}`);
    await c.waitFor((e) => e.event === 'ready');
    await say(a, 'a again');
    await say(b, 'b again');
    await c.waitFor((e) => e.event === 'message.created' && e.data.includes('b again'));
    const got = c.events.filter((e) => e.event === 'message.created').map((e) => JSON.parse(e.data).message.content);
    assert.deepEqual(got, ['for b', 'b again']);
  });

  test('sends heartbeats on an idle stream', async () => {
    const c = await sse('/api/events');
    const hb = await c.waitFor((e) => e.event === 'heartbeat', 3000);
    assert.equal(hb.id, undefined, 'a heartbeat must not move Last-Event-ID');
    assert.equal(JSON.parse(hb.data).id, t.events.lastId);
  });

  test('bad parameters are 400 JSON, not a stream', async () => {
    for (const q of ['since=-1', 'since=abc', 'since=1a2b3c4d-', 'session_id=nope', 'other=1']) {
      const r = await call(t.app, 'GET', `/api/events?${q}`);
      assert.equal(r.status, 400, q);
      assert.equal(r.body.error.code, 'invalid_request');
    }
  });
});

describe('shutdown with open streams', () => {
  test('close() ends open streams instead of waiting on them', async () => {
    const own = await createTestApp();
    const url = await own.app.listen({ host: '127.0.0.1', port: 0 });
    const c1 = await openSse(`${url}/api/events`);
    const c2 = await openSse(`${url}/api/events?since=${own.events.lastId}`);
    await c1.waitFor((e) => e.event === 'ready');
    const started = Date.now();
    await own.app.close(); // would wait for the streams forever if they were not ended
    await Promise.all([c1.ended, c2.ended]);
    assert.ok(Date.now() - started < 3000, `close took ${Date.now() - started} ms`);
    await own.close(); // the rest: runner, queue, live events, database
  });
});
