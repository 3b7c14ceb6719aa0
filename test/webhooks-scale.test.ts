/**
 * Issue 14 with two API processes (real `cco serve` processes over one database): both see every
 * event and both run senders; each event reaches the receiver once, in order per session.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { waitFor } from './helpers/runner.ts';
import { startServeProcess, type ServeProcess } from './helpers/serve.ts';
import { ALL_EVENTS, client, webhookFixture, type WebhookFixture } from './helpers/webhooks.ts';

let f: WebhookFixture;
const procs: ServeProcess[] = [];

before(async () => {
  f = await webhookFixture({ AUTH: 'off' });
});

after(async () => {
  for (const p of procs) p.child.kill('SIGKILL');
  await f.cleanup();
});

test('two API processes: each event delivered once, in order per session', async () => {
  // Processes over one database share SECRETS_KEY: either may sign any subscription's deliveries.
  const env = { ...f.env, LOG_LEVEL: 'info', SECRETS_KEY: 'webhooks-scale-test-secrets-key-0123456789' };
  const a = await startServeProcess({ ...env, DATA_DIR: `${f.dir}/a` });
  procs.push(a);
  const b = await startServeProcess({ ...env, DATA_DIR: `${f.dir}/b` });
  procs.push(b);
  const [ca, cb] = [client(a.url), client(b.url)];

  const w = await ca('POST', '/api/webhooks', { url: `${f.receiver.url}/both`, events: ALL_EVENTS });
  assert.equal(w.status, 201, JSON.stringify(w.body));
  f.receiver.secrets.set('/both', w.body.secret);
  // Made through A, listed by B: one database.
  assert.ok((await cb('GET', '/api/webhooks')).body.data.some((x: { id: string }) => x.id === w.body.id));

  // A real turn started through B, closed through A.
  const run = await cb('POST', '/api/sessions', { prompt: 'two processes' });
  assert.equal(run.status, 201);
  await waitFor('turn.completed', async () => f.receiver.accepted().find((r) => r.json.type === 'turn.completed' && r.json.data.session_id === run.body.id), 90_000);
  assert.equal((await ca('PATCH', `/api/sessions/${run.body.id}`, { status: 'completed' })).status, 200);

  // Unmanaged sessions changed through both, alternately.
  const ids: string[] = [];
  for (let i = 0; i < 10; i++) {
    const [x, y] = i % 2 ? [ca, cb] : [cb, ca];
    const s = await x('POST', '/api/sessions', { project_path: `/srv/work/p${i}` });
    ids.push(s.body.id);
    assert.equal((await y('PATCH', `/api/sessions/${s.body.id}`, { status: 'paused' })).status, 200);
    assert.equal((await x('PATCH', `/api/sessions/${s.body.id}`, { status: 'completed' })).status, 200);
  }
  const of = (id: string) => f.receiver.accepted().filter((r) => r.json.data.session_id === id).map((r) => r.json.type);
  await waitFor('every event', async () => ids.every((id) => of(id).length >= 4) && of(run.body.id).includes('session.completed'), 60_000);
  // Both processes keep sweeping and sending: give them the time to double anything.
  await new Promise((r) => setTimeout(r, 6000));

  const got = f.receiver.received.filter((r) => r.path === '/both');
  const eventIds = got.map((r) => r.json.id);
  assert.equal(new Set(eventIds).size, eventIds.length, 'no event delivered twice');
  assert.equal(new Set(got.map((r) => r.delivery)).size, got.length, 'no delivery made twice');
  assert.ok(got.every((r) => r.valid && r.status === 200));
  assert.deepEqual(of(run.body.id), ['session.created', 'turn.started', 'turn.completed', 'session.status_changed', 'session.completed']);
  assert.equal(f.receiver.accepted().find((r) => r.json.type === 'turn.completed')!.json.data.answer, 'Done: two processes');
  for (const id of ids) assert.deepEqual(of(id), ['session.created', 'session.status_changed', 'session.status_changed', 'session.completed'], id);
});
