/**
 * Issue 14, point 1: webhook subscriptions over the real API (keys on): create (the secret shown
 * once), list, delete, validation errors, SSRF refusals at creation and at send time, who may
 * see and change which subscription, and the audit entries.
 */
import assert from 'node:assert/strict';
import { createHmac, timingSafeEqual } from 'node:crypto';
import fs from 'node:fs';
import { after, before, test } from 'node:test';
import type { Server } from '../src/main.ts';
import { signature } from '../src/webhooks/signature.ts';
import { checkTarget } from '../src/webhooks/target.ts';
import { ALL_EVENTS, client, webhookFixture, type WebhookFixture } from './helpers/webhooks.ts';

let f: WebhookFixture;
let server: Server;
let admin: ReturnType<typeof client>;
const keys: Record<string, string> = {};

before(async () => {
  f = await webhookFixture();
  server = await f.start();
  admin = client(server.url, server.firstKey!.key);
  for (const [name, role] of [['alice', 'user'], ['bob', 'user'], ['vera', 'viewer'], ['hooky', 'hook']] as const) {
    keys[name] = (await server.auth.createKey({ name, role })).key;
  }
});

after(async () => {
  await f.cleanup();
});

test('create answers with the secret once; list and delete never show it', async () => {
  const created = await admin('POST', '/api/webhooks', { url: `${f.receiver.url}/a`, events: ['turn.completed', 'session.completed'], description: 'CI notifier' });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const w = created.body;
  assert.match(w.id, /^[0-9a-f-]{36}$/);
  assert.equal(w.url, `${f.receiver.url}/a`);
  assert.deepEqual(w.events, ['turn.completed', 'session.completed']);
  assert.equal(w.description, 'CI notifier');
  assert.equal(w.owner, 'admin');
  assert.match(w.secret, /^whsec_[A-Za-z0-9_-]{43}$/);
  // Stored sealed (AES-256-GCM under SECRETS_KEY or DATA_DIR/secrets.key): the database never holds it readable.
  const stored = await server.database.db.selectFrom('webhooks').select('secret').where('id', '=', w.id).executeTakeFirstOrThrow();
  assert.ok(!stored.secret.includes(w.secret) && stored.secret.startsWith('v1.'), 'sealed in the database');

  const list = await admin('GET', '/api/webhooks');
  assert.equal(list.status, 200);
  const listed = list.body.data.find((x: { id: string }) => x.id === w.id);
  assert.ok(listed);
  assert.equal('secret' in listed, false);
  assert.equal(JSON.stringify(list.body).includes(w.secret), false);

  const deleted = await admin('DELETE', `/api/webhooks/${w.id}`);
  assert.equal(deleted.status, 200);
  assert.equal(deleted.body.id, w.id);
  assert.equal(JSON.stringify(deleted.body).includes(w.secret), false);
  assert.equal((await admin('GET', '/api/webhooks')).body.data.some((x: { id: string }) => x.id === w.id), false);
  const again = await admin('DELETE', `/api/webhooks/${w.id}`);
  assert.equal(again.status, 404);
  assert.equal(again.body.error.code, 'not_found');

  // Audited, and the audit log never holds the secret.
  await server.core.audit.flush();
  const audit = await admin('GET', `/api/audit?target=webhook:${w.id}`);
  assert.deepEqual(audit.body.data.map((e: { action: string }) => e.action).sort(), ['webhook.created', 'webhook.deleted']);
  assert.equal(JSON.stringify(audit.body).includes(w.secret), false);
});

test('invalid subscriptions get 400 with a JSON error', async () => {
  const cases: [unknown, string][] = [
    [{ events: ['turn.completed'] }, 'url'],
    [{ url: `${f.receiver.url}/x` }, 'events'],
    [{ url: `${f.receiver.url}/x`, events: [] }, 'events'],
    [{ url: `${f.receiver.url}/x`, events: ['turn.done'] }, 'events'],
    [{ url: 'not a url', events: ['turn.completed'] }, 'url'],
    [{ url: 'ftp://example.com/hook', events: ['turn.completed'] }, 'http'],
    [{ url: 'https://user:pw@example.com/hook', events: ['turn.completed'] }, 'password'],
    [{ url: `${f.receiver.url}/x`, events: ['turn.completed'], secret: 'mine' }, 'secret'],
    [{ url: `${f.receiver.url}/x`, events: ['turn.completed'], description: 'd'.repeat(501) }, 'description'],
  ];
  for (const [body, mention] of cases) {
    const r = await admin('POST', '/api/webhooks', body);
    assert.equal(r.status, 400, `${JSON.stringify(body)} → ${r.status}`);
    assert.equal(typeof r.body.error?.code, 'string');
    assert.match(r.body.error.message, new RegExp(mention), JSON.stringify(r.body));
  }
  assert.equal((await admin('GET', '/api/webhooks/not-a-uuid/deliveries')).status, 400);
  assert.equal((await admin('GET', '/api/webhooks/00000000-0000-4000-8000-000000000000/deliveries')).status, 404);
});

test('SSRF: loopback, private and link-local targets are refused unless listed', async () => {
  // This server lists 127.0.0.1 only.
  for (const url of ['http://10.1.2.3/hook', 'http://169.254.169.254/latest/meta-data', 'http://[::1]:8080/hook', 'http://192.168.0.10/hook', 'http://[::ffff:127.0.0.2]/x', 'http://0.0.0.0/x']) {
    const r = await admin('POST', '/api/webhooks', { url, events: ['turn.completed'] });
    assert.equal(r.status, 400, url);
    assert.equal(r.body.error.code, 'webhook_url_private', url);
    assert.match(r.body.error.message, /WEBHOOK_ALLOW_PRIVATE_HOSTS/);
  }
  const unresolvable = await admin('POST', '/api/webhooks', { url: 'https://no-such-host.invalid/hook', events: ['turn.completed'] });
  assert.equal(unresolvable.status, 400);
  assert.equal(unresolvable.body.error.code, 'webhook_host_unresolvable');

  // A server without the setting refuses the receiver on 127.0.0.1 itself; one listing localhost allows it by name.
  const strict = await f.start({ WEBHOOK_ALLOW_PRIVATE_HOSTS: '', DATA_DIR: `${f.dir}/strict` });
  try {
    const r = await client(strict.url, server.firstKey!.key)('POST', '/api/webhooks', { url: `${f.receiver.url}/x`, events: ['turn.completed'] });
    assert.equal(r.status, 400);
    assert.equal(r.body.error.code, 'webhook_url_private');
  } finally {
    await strict.stop();
  }
  const byName = await f.start({ WEBHOOK_ALLOW_PRIVATE_HOSTS: 'localhost', DATA_DIR: `${f.dir}/by-name` });
  try {
    const r = await client(byName.url, server.firstKey!.key)('POST', '/api/webhooks', { url: `${f.receiver.url.replace('127.0.0.1', 'localhost')}/n8n`, events: ['turn.completed'] });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    assert.equal((await admin('DELETE', `/api/webhooks/${r.body.id}`)).status, 200);
  } finally {
    await byName.stop();
  }
});

test('SSRF at send time: a name that now resolves inside is refused (DNS rebinding)', async () => {
  let answer = ['93.184.216.34'];
  const resolve = async () => answer;
  const url = new URL('https://hooks.example.com/x');
  assert.deepEqual(await checkTarget(url, { allowPrivateHosts: [], resolve }), [{ address: '93.184.216.34', family: 4 }]);
  answer = ['93.184.216.34', '127.0.0.1'];
  await assert.rejects(checkTarget(url, { allowPrivateHosts: [], resolve }), { code: 'webhook_url_private' });
  answer = ['fd00::1'];
  await assert.rejects(checkTarget(url, { allowPrivateHosts: [], resolve }), { code: 'webhook_url_private' });
  assert.equal((await checkTarget(url, { allowPrivateHosts: ['fd00::/8'], resolve })).length, 1);
  assert.equal((await checkTarget(url, { allowPrivateHosts: ['hooks.example.com'], resolve })).length, 1);
});

test('access: write keys only; a user sees and changes only its own webhooks', async () => {
  const alice = client(server.url, keys.alice);
  const bob = client(server.url, keys.bob);
  const mine = await alice('POST', '/api/webhooks', { url: `${f.receiver.url}/alice`, events: ALL_EVENTS });
  assert.equal(mine.status, 201);
  assert.equal(mine.body.owner, 'alice');

  for (const who of ['vera', 'hooky']) {
    const c = client(server.url, keys[who]);
    assert.equal((await c('POST', '/api/webhooks', { url: `${f.receiver.url}/v`, events: ALL_EVENTS })).status, 403, who);
    assert.equal((await c('GET', '/api/webhooks')).status, 403, who);
    assert.equal((await c('DELETE', `/api/webhooks/${mine.body.id}`)).status, 403, who);
  }
  assert.equal((await client(server.url)('GET', '/api/webhooks')).status, 401);

  assert.deepEqual((await alice('GET', '/api/webhooks')).body.data.map((w: { id: string }) => w.id), [mine.body.id]);
  assert.equal((await bob('GET', '/api/webhooks')).body.data.length, 0);
  assert.ok((await admin('GET', '/api/webhooks')).body.data.some((w: { id: string }) => w.id === mine.body.id));
  // Another's webhook does not exist for bob.
  assert.equal((await bob('DELETE', `/api/webhooks/${mine.body.id}`)).status, 404);
  assert.equal((await bob('GET', `/api/webhooks/${mine.body.id}/deliveries`)).status, 404);
  assert.equal((await bob('POST', `/api/webhooks/${mine.body.id}/deliveries/1/redeliver`)).status, 404);
  assert.equal((await alice('GET', `/api/webhooks/${mine.body.id}/deliveries`)).status, 200);
  assert.equal((await alice('DELETE', `/api/webhooks/${mine.body.id}`)).status, 200);
});

test('the README\'s snippet verifies a signature the server made, and refuses changed or old ones', () => {
  const readme = fs.readFileSync('README.md', 'utf8');
  const block = /\*\*Verifying a delivery\*\*[\s\S]*?```js\n([\s\S]*?)```/.exec(readme)?.[1];
  assert.ok(block, 'the README has the snippet');
  const verify = new Function('createHmac', 'timingSafeEqual', `${block.replace(/^import .*$/m, '')}\nreturn verify;`)(createHmac, timingSafeEqual) as (secret: string, body: string, header: string) => boolean;
  const body = JSON.stringify({ id: 'session.created:x', type: 'session.created', created_at: new Date().toISOString(), data: { answer: 'é ✓' } });
  const t = Math.floor(Date.now() / 1000);
  assert.equal(verify('whsec_one', body, signature('whsec_one', body, t)), true);
  assert.equal(verify('whsec_one', `${body} `, signature('whsec_one', body, t)), false);
  assert.equal(verify('whsec_two', body, signature('whsec_one', body, t)), false);
  assert.equal(verify('whsec_one', body, signature('whsec_one', body, t - 600)), false);
  assert.equal(verify('whsec_one', body, 't=1,v1=abc'), false);
});
