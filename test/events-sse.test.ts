import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { call, createTestApp, type TestApp } from './helpers/app.ts';
import { openSse, type SseClient } from './helpers/sse.ts';

let t: TestApp;
let base: string;
const clients: SseClient[] = [];

async function sse(path: string, headers: Record<string, string> = {}) {
  const c = await openSse(`${base}${path}`, headers);
  clients.push(c);
  return c;
}

before(async () => {
  t = await createTestApp({ eventCapacity: 20, sse: { heartbeatMs: 200 } });
  base = await t.app.listen({ host: '127.0.0.1', port: 0 });
});
after(async () => {
  for (const c of clients) c.close();
  await t.close();
});

const newSession = async () => (await call(t.app, 'POST', '/api/sessions', { project_path: '/srv/sse' })).body.id as string;
const say = (id: string, content: string) => call(t.app, 'POST', `/api/sessions/${id}/messages`, { direction: 'assistant', content });

describe('GET /api/events', () => {
  test('streams stored changes live with id = <epoch>-<seq>, after a ready event', async () => {
    const c = await sse('/api/events');
    assert.equal(c.status, 200);
    assert.match(String(c.headers['content-type']), /^text\/event-stream/);
    const ready = await c.waitFor((e) => e.event === 'ready');
    const seqOf = (id: string | undefined) => Number(id?.split('-')[1]);
    const start = seqOf(ready.id);
    assert.equal(ready.id, t.events.lastId);
    assert.equal(JSON.parse(ready.data).epoch, t.events.epoch);
    assert.equal(JSON.parse(ready.data).replayed, 0);
    const id = await newSession();
    await say(id, 'hello');
    const created = await c.waitFor((e) => e.event === 'session.created');
    const msg = await c.waitFor((e) => e.event === 'message.created');
    const body = JSON.parse(msg.data);
    assert.equal(body.session_id, id);
    assert.equal(body.message.content, 'hello');
    assert.equal(msg.id, `${t.events.epoch}-${body.seq}`);
    assert.ok(seqOf(created.id) > start && seqOf(msg.id) > seqOf(created.id));
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

  test('a gap older than the buffer gets a reset event instead of a partial replay', async () => {
    const id = await newSession();
    const mark = t.events.lastId;
    for (let i = 0; i < 25; i++) await say(id, `m${i}`); // capacity is 20
    const c = await sse('/api/events', { 'last-event-id': String(mark) });
    const reset = await c.waitFor((e) => e.event === 'reset');
    assert.equal(JSON.parse(reset.data).seq, t.events.lastSeq);
    assert.equal(c.events.filter((e) => e.event === 'message.created').length, 0);
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
    assert.equal(typeof JSON.parse(hb.data).seq, 'number');
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
    await own.db.close();
  });
});
