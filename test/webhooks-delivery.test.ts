/**
 * Issue 14, point 1: deliveries. Real turns (scripted model, real Claude Code) make the events a
 * local receiver gets, signed and in order; a receiver outage, non-2xx answers and a server
 * restart delay deliveries without losing or reordering them; a delivery can be sent again;
 * a user key's webhook hears only its own sessions.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Server } from '../src/main.ts';
import { waitFor } from './helpers/runner.ts';
import type { Received } from './helpers/webhook-receiver.ts';
import { ALL_EVENTS, client, webhookFixture, type WebhookFixture } from './helpers/webhooks.ts';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

let f: WebhookFixture;
let server: Server;
let admin: ReturnType<typeof client>;
let adminKey: string;

before(async () => {
  f = await webhookFixture();
  server = await f.start();
  adminKey = server.firstKey!.key;
  admin = client(server.url, adminKey);
});

after(async () => {
  await f.cleanup();
});

/** Subscribes `path` on the receiver (with its secret) to `events`. */
async function subscribe(call: ReturnType<typeof client>, path: string, events = ALL_EVENTS): Promise<Json> {
  const r = await call('POST', '/api/webhooks', { url: `${f.receiver.url}${path}`, events });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  f.receiver.secrets.set(path, r.body.secret);
  return r.body;
}

const at = (path: string, sessionId?: string) => f.receiver.accepted().filter((r) => r.path === path && (sessionId === undefined || r.json.data.session_id === sessionId));
const types = (rs: Received[]) => rs.map((r) => r.json.type);

async function unmanaged(call: ReturnType<typeof client>): Promise<string> {
  const r = await call('POST', '/api/sessions', { project_path: '/srv/work/hooked' });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.body.id;
}

async function setStatus(call: ReturnType<typeof client>, id: string, status: string): Promise<void> {
  const r = await call('PATCH', `/api/sessions/${id}`, { status });
  assert.equal(r.status, 200, JSON.stringify(r.body));
}

test('a real turn: session.created, turn.started, turn.completed (answer, cost, files), then status_changed and session.completed', async () => {
  const w = await subscribe(admin, '/all');
  const created = await admin('POST', '/api/sessions', { prompt: 'SCRIPT:write-edit' });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const id = created.body.id as string;
  await waitFor('turn.completed', async () => at('/all', id).find((r) => r.json.type === 'turn.completed'), 90_000);
  await setStatus(admin, id, 'completed');
  const got = await waitFor('session.completed', async () => (at('/all', id).some((r) => r.json.type === 'session.completed') ? at('/all', id) : undefined), 30_000);
  assert.deepEqual(types(got), ['session.created', 'turn.started', 'turn.completed', 'session.status_changed', 'session.completed']);

  for (const r of got) {
    assert.equal(r.valid, true, `signature of ${r.json.type}`);
    assert.equal(r.event, r.json.type, 'x-cco-event');
    assert.match(r.signature, /^t=\d+,v1=[0-9a-f]{64}$/);
    assert.equal(Number.isNaN(Date.parse(r.json.created_at)), false);
    assert.equal(r.json.data.url, `https://cco.example.test/sessions/${id}`);
  }
  const [, started, completed, changed, done] = got.map((r) => r.json);
  const turns = (await admin('GET', `/api/sessions/${id}/turns`)).body.data as Json[];
  assert.equal(started!.data.turn_id, turns[0]!.id);
  assert.equal(started!.data.prompt, 'SCRIPT:write-edit');
  assert.equal(completed!.id, `turn.completed:${turns[0]!.id}`);
  assert.equal(completed!.data.status, 'completed');
  // Fields in the documented order (the body is kept as written).
  assert.deepEqual(Object.keys(completed!.data).slice(0, 5), ['session_id', 'turn_id', 'status', 'answer', 'answer_truncated']);
  assert.equal(completed!.data.answer, 'Finished script write-edit.');
  assert.ok(completed!.data.cost_usd > 0, JSON.stringify(completed!.data));
  assert.equal(completed!.data.cost_usd, turns[0]!.cost_usd);
  assert.ok(completed!.data.input_tokens > 0 && completed!.data.output_tokens > 0);
  assert.equal(completed!.data.duration_ms, turns[0]!.duration_ms);
  assert.equal(completed!.data.files_changed, 1);
  assert.deepEqual(completed!.data.files, ['notes.txt']);
  assert.equal(completed!.data.title, 'SCRIPT:write-edit', "the session's title: its first prompt line");
  assert.deepEqual([changed!.data.from, changed!.data.to], ['active', 'completed']);
  assert.equal(done!.data.totals.turns, 1);

  // The deliveries as the API lists them: each delivered once, ids as sent in x-cco-delivery.
  const list = (await admin('GET', `/api/webhooks/${w.id}/deliveries?limit=200`)).body.data as Json[];
  const mine = list.filter((d) => d.session_id === id).reverse();
  assert.deepEqual(mine.map((d) => d.event_type), types(got));
  assert.deepEqual(mine.map((d) => String(d.id)), got.map((r) => r.delivery));
  for (const d of mine) {
    assert.equal(d.state, 'delivered');
    assert.equal(d.attempts, 1);
    assert.equal(d.last_status, 200);
    assert.equal(d.last_response, 'ok');
  }
});

test('a failed turn: turn.failed with its status and error', async () => {
  await subscribe(admin, '/failed', ['turn.started', 'turn.failed', 'turn.completed']);
  const created = await admin('POST', '/api/sessions', { prompt: 'SCRIPT:sleep', allowed_tools: ['Bash'], timeout_s: 3 });
  assert.equal(created.status, 201);
  const failed = await waitFor('turn.failed', async () => at('/failed', created.body.id).find((r) => r.json.type === 'turn.failed'), 90_000);
  assert.deepEqual(types(at('/failed', created.body.id)), ['turn.started', 'turn.failed']);
  assert.equal(failed.json.data.status, 'timed_out');
  assert.match(failed.json.data.error, /time limit/);
  assert.ok(Date.parse(failed.json.data.ended_at) - Date.parse(failed.json.data.started_at) >= 2500, JSON.stringify(failed.json.data));
});

test('a user key\'s webhook hears only its own sessions; an admin\'s hears all', async () => {
  const { key } = await server.auth.createKey({ name: 'uma', role: 'user' });
  const uma = client(server.url, key);
  await subscribe(uma, '/uma', ['session.created']);
  await subscribe(admin, '/admin-created', ['session.created']);
  const hers = await unmanaged(uma);
  const other = await unmanaged(admin);
  await waitFor('admin hears both', async () => at('/admin-created', hers).length === 1 && at('/admin-created', other).length === 1, 30_000);
  await waitFor('uma hears hers', async () => at('/uma', hers).length === 1, 30_000);
  // Give a wrong delivery the time to arrive.
  await new Promise((r) => setTimeout(r, 1000));
  assert.equal(at('/uma', other).length, 0);
  // Her key revoked: her webhook gets nothing more.
  await server.auth.revokeById((await server.auth.listKeys({ revoked: false })).find((k) => k.name === 'uma')!.id);
  const later = await unmanaged(admin);
  await waitFor('admin hears the later one', async () => at('/admin-created', later).length === 1, 30_000);
  await new Promise((r) => setTimeout(r, 1000));
  assert.equal(f.receiver.received.filter((r) => r.path === '/uma').length, 1);
});

test('receiver down, then up: everything arrives, in order per session, nothing lost; non-2xx is retried', async () => {
  const w = await subscribe(admin, '/outage', ['session.created', 'session.status_changed', 'session.completed']);
  await f.receiver.down();
  const ids: string[] = [];
  for (let i = 0; i < 5; i++) {
    const id = await unmanaged(admin);
    ids.push(id);
    await setStatus(admin, id, 'paused');
    await setStatus(admin, id, 'active');
    await setStatus(admin, id, 'completed');
  }
  // Tried and failed while down.
  await waitFor('failed attempts recorded', async () => {
    const list = (await admin('GET', `/api/webhooks/${w.id}/deliveries?state=pending`)).body.data as Json[];
    return list.some((d) => d.attempts >= 1 && d.last_error === 'ECONNREFUSED' && d.last_status === null);
  }, 30_000);
  // Back up, but answering 503 to the first three deliveries it sees.
  let refusals = 3;
  f.receiver.respond = (r) => (r.path === '/outage' && refusals-- > 0 ? 503 : 200);
  await f.receiver.up();
  const expected = ['session.created', 'session.status_changed', 'session.status_changed', 'session.status_changed', 'session.completed'];
  await waitFor('all delivered', async () => ids.every((id) => at('/outage', id).length >= expected.length), 90_000);
  f.receiver.respond = () => 200;
  for (const id of ids) {
    const got = at('/outage', id);
    assert.deepEqual(types(got), expected, `session ${id}`);
    assert.deepEqual(got.slice(1, 4).map((r) => `${r.json.data.from}>${r.json.data.to}`), ['active>paused', 'paused>active', 'active>completed']);
    assert.ok(got.every((r) => r.valid));
  }
  const refused = f.receiver.received.filter((r) => r.path === '/outage' && r.status === 503);
  assert.equal(refused.length, 3);
  // Each refused one came again (same delivery, same event id) and was taken.
  for (const r of refused) assert.ok(at('/outage').some((a) => a.delivery === r.delivery && a.json.id === r.json.id));
  // The receiver has them all; each is marked delivered just after its answer.
  const list = await waitFor('all marked delivered', async () => {
    const l = (await admin('GET', `/api/webhooks/${w.id}/deliveries?limit=200`)).body.data as Json[];
    return l.every((d) => d.state === 'delivered') && l;
  }, 10_000);
  assert.equal(list.length, ids.length * expected.length);
  assert.ok(list.filter((d) => d.attempts > 1).length >= 3);
});

test('a restart with deliveries queued loses nothing', async () => {
  const w = await subscribe(admin, '/restart', ['session.created', 'session.completed']);
  await f.receiver.down();
  const ids = [await unmanaged(admin), await unmanaged(admin)];
  for (const id of ids) await setStatus(admin, id, 'completed');
  await waitFor('queued', async () => ((await admin('GET', `/api/webhooks/${w.id}/deliveries`)).body.data as Json[]).length === 4, 30_000);
  await server.stop();
  await f.receiver.up();
  server = await f.start();
  admin = client(server.url, adminKey);
  await waitFor('delivered after the restart', async () => ids.every((id) => types(at('/restart', id)).join() === 'session.created,session.completed'), 60_000);
});

test('redeliver sends a delivery again with the same event id; unknown ones are 404', async () => {
  const w = await subscribe(admin, '/again', ['session.created']);
  const id = await unmanaged(admin);
  const first = await waitFor('delivered', async () => at('/again', id)[0], 30_000);
  const r = await admin('POST', `/api/webhooks/${w.id}/deliveries/${first.delivery}/redeliver`);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.state, 'pending');
  const second = await waitFor('delivered again', async () => at('/again', id)[1], 30_000);
  assert.equal(second.delivery, first.delivery);
  assert.equal(second.json.id, first.json.id);
  assert.equal(second.valid, true);
  assert.equal((await admin('POST', `/api/webhooks/${w.id}/deliveries/999999999/redeliver`)).status, 404);
  assert.equal((await admin('POST', `/api/webhooks/00000000-0000-4000-8000-000000000000/deliveries/${first.delivery}/redeliver`)).status, 404);
  const d = ((await admin('GET', `/api/webhooks/${w.id}/deliveries`)).body.data as Json[]).find((x) => String(x.id) === first.delivery)!;
  assert.equal(d.state, 'delivered');
});

test('a timeout and a redirect are failed attempts, retried; a redirect is not followed', async () => {
  const w = await subscribe(admin, '/slow', ['session.created']);
  let n = 0;
  f.receiver.respond = (r) => (r.path !== '/slow' ? 200 : ++n === 1 ? { status: 200, delayMs: 4000 } : n === 2 ? 302 : 200);
  try {
    const id = await unmanaged(admin);
    const errors = new Set<string>();
    const final = await waitFor('delivered on the third attempt', async () => {
      const d = ((await admin('GET', `/api/webhooks/${w.id}/deliveries`)).body.data as Json[])[0];
      if (d?.last_error) errors.add(d.last_error);
      return d?.state === 'delivered' && d;
    }, 30_000);
    assert.equal(final.attempts, 3);
    assert.ok(errors.has('timeout after 2000 ms'), [...errors].join());
    assert.ok(errors.has('redirect (302) not followed'), [...errors].join());
    const seen = f.receiver.received.filter((r) => r.path === '/slow');
    assert.deepEqual(seen.map((r) => r.json.data.session_id), [id, id, id]);
    assert.equal(new Set(seen.map((r) => r.delivery)).size, 1);
  } finally {
    f.receiver.respond = () => 200;
  }
});
