/**
 * Issue 15: the webhook `approval.requested` lets a workflow (n8n) route a waiting call elsewhere
 * and answer it through the API with its own key; `approval.decided` tells who decided. Signed
 * deliveries to a local receiver; the real binary on the scripted model; the marker file on disk.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import type { Server } from '../src/main.ts';
import { waitFor } from './helpers/runner.ts';
import { client, webhookFixture, type WebhookFixture } from './helpers/webhooks.ts';

let f: WebhookFixture;
let server: Server;

before(async () => {
  f = await webhookFixture({ APPROVAL_POLICY: JSON.stringify({ default: 'allow', rules: [{ tool: 'Bash', command: 'touch *', action: 'ask' }] }), APPROVAL_WAIT_S: '1' });
  server = await f.start();
});
after(async () => {
  await f.cleanup();
});

test('approval.requested reaches a subscriber, which decides through the API; approval.decided follows', async () => {
  const owner = (await server.auth.createKey({ name: 'dora', role: 'user' })).key;
  const call = client(server.url, owner);
  const hook = await call('POST', '/api/webhooks', { url: `${f.receiver.url}/approvals`, events: ['approval.requested', 'approval.decided'] });
  assert.equal(hook.status, 201, JSON.stringify(hook.body));
  f.receiver.secrets.set('/approvals', hook.body.secret);

  const script = JSON.stringify([{ tool: 'Bash', input: { command: 'touch routed.txt', description: 'x' } }, { text: 'after' }]);
  const s = await call('POST', '/api/sessions', { prompt: `SCRIPT_JSON:${script}` });
  assert.equal(s.status, 201);
  const requested = await waitFor('approval.requested', async () => f.receiver.accepted().find((r) => r.path === '/approvals' && r.json.type === 'approval.requested'), 60_000);
  const data = requested.json.data;
  assert.equal(data.session_id, s.body.id);
  assert.equal(data.tool_name, 'Bash');
  assert.equal(data.tool_input.command, 'touch routed.txt');
  const title = (await call('GET', `/api/sessions/${s.body.id}`)).body.title;
  assert.ok(typeof title === 'string' && title.startsWith('SCRIPT_JSON:'), `session title: ${title}`);
  assert.equal(data.title, title, 'the session is named in the event, as in Slack and the dashboard');
  assert.match(data.decision_url, /^https:\/\/cco\.example\.test\/api\/approvals\/[0-9a-f-]{36}\/decision$/);
  const marker = path.join((await call('GET', `/api/sessions/${s.body.id}`)).body.project_path, 'routed.txt');
  assert.equal(fs.existsSync(marker), false);

  // The workflow answers with the owner's key (as an n8n HTTP node would, at decision_url's path).
  const decisionPath = new URL(data.decision_url).pathname;
  const d = await call('POST', decisionPath, { decision: 'allow', reason: 'routed by n8n', via: 'n8n' });
  assert.equal(d.status, 200, JSON.stringify(d.body));
  await waitFor('the call ran', async () => fs.existsSync(marker), 60_000);
  const decided = await waitFor('approval.decided', async () => f.receiver.accepted().find((r) => r.path === '/approvals' && r.json.type === 'approval.decided'), 60_000);
  assert.equal(decided.json.data.status, 'allowed');
  assert.equal(decided.json.data.decided_by, 'dora');
  assert.equal(decided.json.data.decided_via, 'n8n');
  assert.equal(decided.json.data.reason, 'routed by n8n');
  assert.equal(decided.json.data.title, title);
  assert.equal(f.receiver.accepted().filter((r) => r.path === '/approvals').length, 2, 'each event once');
});
