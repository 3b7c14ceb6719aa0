/**
 * The live stream under restarts, large replays, huge events, many streams and
 * clients that stop reading (issue 9, points 5 and 24).
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import net from 'node:net';
import { afterEach, describe, test } from 'node:test';
import type { Message } from '../src/sessions/types.ts';
import { call, createTestApp, type TestApp, type TestAppOptions } from './helpers/app.ts';
import { createTestDb } from './helpers/db.ts';
import { postToolHook } from './helpers/seed.ts';
import { openSse, type SseClient } from './helpers/sse.ts';

const cleanups: (() => Promise<void> | void)[] = [];
// Each test's servers and clients go when it ends: every server holds several connections, and
// the embedded PostgreSQL allows 30.
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function listening(opts: TestAppOptions = {}): Promise<{ t: TestApp; base: string }> {
  const t = await createTestApp(opts);
  const base = await t.app.listen({ host: '127.0.0.1', port: 0 });
  cleanups.push(() => t.close());
  return { t, base };
}

async function sse(url: string, headers: Record<string, string> = {}): Promise<SseClient> {
  const c = await openSse(url, headers);
  cleanups.push(() => c.close());
  return c;
}

const newSession = async (t: TestApp) => (await call(t.app, 'POST', '/api/sessions', { project_path: '/srv/sse-limits' })).body.id as string;
const say = (t: TestApp, id: string, content: string) => call(t.app, 'POST', `/api/sessions/${id}/messages`, { direction: 'assistant', content });

/**
 * The server side of the next connection, with the most bytes it ever held
 * queued in user space (what a client costs the server's memory).
 */
function watchNextConnection(t: TestApp): Promise<{ socket: net.Socket; maxQueued: () => number }> {
  return new Promise((resolve) => {
    const onConnection = (socket: net.Socket) => {
      t.app.server.off('connection', onConnection);
      let max = 0;
      const write = socket.write.bind(socket) as (...a: unknown[]) => boolean;
      socket.write = ((...a: unknown[]) => {
        const ok = write(...a);
        max = Math.max(max, socket.writableLength);
        return ok;
      }) as typeof socket.write;
      resolve({ socket, maxQueued: () => max });
    };
    t.app.server.on('connection', onConnection);
  });
}

/** Polls until `check` holds (the machine is loaded: generous deadline). */
async function until(check: () => boolean, what: string, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const fakeMessage = (sessionId: string, id: number, content: string): Message => ({
  id, session_id: sessionId, direction: 'assistant', content, source: 'api', timestamp: new Date().toISOString(), metadata: {},
});

describe('after a server restart', () => {
  test('a client coming back with an id of the previous process gets exactly what it missed, from the table', async () => {
    const db = await createTestDb();
    cleanups.push(() => db.close());
    const first = await listening({ db });
    const c = await sse(`${first.base}/api/events`);
    await c.waitFor((e) => e.event === 'ready');
    const id = await newSession(first.t);
    for (let i = 0; i < 6; i++) await say(first.t, id, `before restart ${i}`);
    const last = await c.waitFor((e) => e.event === 'message.created' && e.data.includes('before restart 5'));
    c.close();
    await first.t.close();

    const second = await listening({ db });
    for (let i = 0; i < 3; i++) await say(second.t, id, `after restart ${i}`);
    const back = await sse(`${second.base}/api/events`, { 'last-event-id': String(last.id) });
    await back.waitFor((e) => e.event === 'message.created' && e.data.includes('after restart 2'));
    assert.equal(back.events.filter((e) => e.event === 'reset').length, 0);
    const got = back.events.filter((e) => e.event === 'message.created').map((e) => JSON.parse(e.data).message.content);
    assert.deepEqual(got, ['after restart 0', 'after restart 1', 'after restart 2']);
  });
});

describe('the replay buffer', () => {
  test('is bounded in bytes: a gap past the byte bound is replayed from the table, one within it from memory', async () => {
    const maxBytes = 300 * 1024;
    const { t, base } = await listening({ eventCapacity: 10_000, events: { maxBytes } });
    const live = await sse(`${base}/api/events`);
    await live.waitFor((e) => e.event === 'ready');
    const id = await newSession(t);
    const start = await live.waitFor((e) => e.event === 'session.created');
    for (let i = 0; i < 60; i++) await say(t, id, `${i} ${'x'.repeat(20 * 1024)}`); // ~1.2 MB
    const tenth = await live.waitFor((e) => e.event === 'message.created' && e.data.includes('"content":"50 '));
    // Every event read back into this process before the replays below are asked for (delivery is asynchronous).
    await live.waitFor((e) => e.event === 'message.created' && e.data.includes('"content":"59 '));

    const old = await sse(`${base}/api/events`, { 'last-event-id': String(start.id) });
    assert.equal(JSON.parse((await old.waitFor((e) => e.event === 'ready')).data).reset, false);
    assert.equal(old.events.filter((e) => e.event === 'message.created').length, 60);

    const recent = await sse(`${base}/api/events`, { 'last-event-id': String(tenth.id) });
    const ready = await recent.waitFor((e) => e.event === 'ready');
    assert.equal(JSON.parse(ready.data).replayed, 9);
    assert.equal(recent.events.some((e) => e.event === 'reset'), false);
    assert.ok(t.events.buffered.bytes <= maxBytes, `buffer holds ${t.events.buffered.bytes} bytes`);
  });

  test('a 6 MB replay is written in pieces and the client receives every event', async () => {
    const { t, base } = await listening({ eventCapacity: 10_000 });
    const live = await sse(`${base}/api/events`);
    const mark = await live.waitFor((e) => e.event === 'ready');
    const id = await newSession(t);
    for (let i = 0; i < 100; i++) await say(t, id, `${i} ${'r'.repeat(60 * 1024)}`); // 100 events of ~60 KB
    await live.waitFor((e) => e.event === 'message.created' && e.data.includes('"content":"99 '), 30_000);

    const server = watchNextConnection(t);
    const c = await sse(`${base}/api/events`, { 'last-event-id': String(mark.id) });
    const ready = await c.waitFor((e) => e.event === 'ready', 60_000);
    assert.equal(JSON.parse(ready.data).reset, false);
    const got = c.events.filter((e) => e.event === 'message.created').map((e) => Number(JSON.parse(e.data).message.content.split(' ')[0]));
    assert.deepEqual(got, Array.from({ length: 100 }, (_, i) => i));
    const queued = (await server).maxQueued();
    assert.ok(queued < 1024 * 1024, `the server queued up to ${queued} bytes for this client at once`);
  });
});

describe('huge events', () => {
  test('a 4.6 MB message reaches live clients as a reference that resolves, and nobody is disconnected', async () => {
    const { t, base } = await listening({ bodyLimitBytes: 6 * 1024 * 1024 });
    const id = await newSession(t);
    const a = await sse(`${base}/api/events`);
    const b = await sse(`${base}/api/events?session_id=${id}`);
    const mark = await a.waitFor((e) => e.event === 'ready');
    await b.waitFor((e) => e.event === 'ready');
    let aEnded = false;
    void a.ended.then(() => (aEnded = true));
    // Content is limited to 1 MB, metadata only by the body limit: 4.6 MB gets in that way.
    const blob = `start ${'h'.repeat(4.6 * 1024 * 1024)} end`;
    const posted = await call(t.app, 'POST', `/api/sessions/${id}/messages`, { direction: 'assistant', content: 'the huge one', metadata: { blob } });
    assert.equal(posted.status, 201);
    await say(t, id, 'small after');

    for (const c of [a, b]) {
      const ref = JSON.parse((await c.waitFor((e) => e.event === 'message.created' && e.data.includes('"truncated":true'), 30_000)).data);
      assert.ok(JSON.stringify(ref).length < 64 * 1024, 'the frame is small');
      assert.equal(ref.message.id, posted.body.id);
      assert.equal(ref.url, `/api/sessions/${id}/messages/${posted.body.id}`);
      await c.waitFor((e) => e.event === 'message.created' && e.data.includes('small after'), 30_000);
      const full = await call(t.app, 'GET', ref.url);
      assert.equal(full.status, 200);
      assert.equal(full.body.content, 'the huge one');
      assert.equal(full.body.metadata.blob, blob);
    }
    assert.equal(aEnded, false, 'the live client is still connected');

    // A client behind the huge event replays it (as the reference) without being reset.
    const behind = await sse(`${base}/api/events`, { 'last-event-id': String(mark.id) });
    const ready = JSON.parse((await behind.waitFor((e) => e.event === 'ready', 30_000)).data);
    assert.equal(ready.reset, false);
    assert.equal(behind.events.filter((e) => e.event === 'message.created').length, 2);
  });

  test('a tool call with a huge input, and a session with huge metadata, arrive as references to GET routes that return them whole', async () => {
    const { t, base } = await listening({ resultMaxBytes: 1024 * 1024 }); // inputs are stored whole up to this
    const c = await sse(`${base}/api/events`);
    await c.waitFor((e) => e.event === 'ready');
    const command = `echo ${'c'.repeat(200 * 1024)}`;
    const { log_id } = await postToolHook(t.app, 'claude-huge-tool', command, 'ok');
    const logRef = JSON.parse((await c.waitFor((e) => e.event === 'log.created')).data);
    assert.equal(logRef.truncated, true);
    assert.equal(logRef.log.id, log_id);
    const log = await call(t.app, 'GET', logRef.url);
    assert.equal(log.status, 200);
    assert.equal(log.body.input.command, command);

    const id = await newSession(t);
    const patched = await call(t.app, 'PATCH', `/api/sessions/${id}`, { metadata: { notes: 'n'.repeat(100 * 1024) } });
    assert.equal(patched.status, 200);
    const sessionRef = JSON.parse((await c.waitFor((e) => e.event === 'session.updated' && e.data.includes(id))).data);
    assert.equal(sessionRef.truncated, true);
    assert.equal(sessionRef.url, `/api/sessions/${id}`);
    assert.equal((await call(t.app, 'GET', sessionRef.url)).body.metadata.notes.length, 100 * 1024);

    // The single-item routes answer 404 JSON for an item of another session.
    const other = await newSession(t);
    assert.equal((await call(t.app, 'GET', `/api/sessions/${other}/logs/${log_id}`)).body.error.code, 'not_found');
    assert.equal((await call(t.app, 'GET', `/api/sessions/${other}/messages/1`)).status, 404);
    assert.equal((await call(t.app, 'GET', `/api/sessions/${other}/events/1`)).status, 404);
  });
});

describe('open streams', () => {
  test('are capped: past SSE_MAX_STREAMS the answer is 503 JSON with Retry-After, and room comes back when one closes', async () => {
    const { base } = await listening({ sse: { maxStreams: 2 } });
    const one = await sse(`${base}/api/events`);
    await sse(`${base}/api/events`);
    const refused = await fetch(`${base}/api/events`);
    assert.equal(refused.status, 503);
    assert.ok(Number(refused.headers.get('retry-after')) > 0);
    assert.equal(((await refused.json()) as { error: { code: string } }).error.code, 'too_many_streams');
    one.close();
    const deadline = Date.now() + 20_000;
    for (;;) {
      const stream = new AbortController();
      cleanups.push(() => stream.abort());
      const r = await fetch(`${base}/api/events`, { signal: stream.signal });
      if (r.status === 200) break;
      await r.text();
      if (Date.now() > deadline) throw new Error('no room for a stream after one closed');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  });

  test('a client that stops reading costs a bounded amount of memory and is dropped', async () => {
    const { t, base } = await listening({ sse: { slowClientTimeoutMs: 1_000 } });
    const { port } = new URL(base);
    const watched = watchNextConnection(t);
    const raw = net.connect(Number(port), '127.0.0.1');
    cleanups.push(() => void raw.destroy());
    await new Promise<void>((resolve) => raw.once('connect', () => resolve()));
    raw.write(`GET /api/events HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n`);
    raw.pause(); // never reads: the kernel buffers fill, then the server's would
    const server = await watched;
    let closed = false;
    server.socket.once('close', () => (closed = true));
    const reader = await sse(`${base}/api/events`); // a healthy client alongside
    await reader.waitFor((e) => e.event === 'ready');

    const sid = randomUUID();
    for (let i = 1; i <= 600; i++) {
      t.events.publish({ type: 'message.created', message: fakeMessage(sid, i, `${i} ${'s'.repeat(50 * 1024)}`) }); // 30 MB in all
      if (i % 10 === 0) await new Promise((r) => setImmediate(r)); // let sockets drain between bursts
    }
    const queued = server.maxQueued();
    assert.ok(queued < 1024 * 1024, `the server queued up to ${queued} bytes for a client that reads nothing`);
    await until(() => closed, 'the non-reading client to be dropped');
    t.events.publish({ type: 'message.created', message: fakeMessage(sid, 601, 'still live') });
    await reader.waitFor((e) => e.event === 'message.created' && e.data.includes('still live'), 30_000);
  });
});
