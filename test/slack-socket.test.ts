/**
 * Issue 13 over Socket Mode (SLACK_APP_TOKEN): Bolt's SocketModeReceiver connects to the stand-in
 * (apps.connections.open → a WebSocket), takes envelopes and acks each; the same service, follower
 * and outbox do the rest. A dropped connection is opened again.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Server } from '../src/main.ts';
import { waitFor } from './helpers/runner.ts';
import { slackFixture, type SlackFixture } from './helpers/slack.ts';
import type { SlackMessage } from './helpers/slack-standin.ts';

let f: SlackFixture;
let server: Server;

before(async () => {
  f = await slackFixture({ AUTH: 'off', SLACK_APP_TOKEN: 'xapp-1-A111-222-standinapptoken', SLACK_SIGNING_SECRET: '' });
  server = await f.start();
  await f.standin.socketConnected();
});

after(async () => {
  await f.cleanup();
});

const text = (m: SlackMessage) => JSON.stringify([m.text, m.blocks ?? []]);
const replies = (ch: string, ts: string) => f.standin.thread(ch, ts).filter((m) => m.ts !== ts);

test('over Socket Mode: a direct message starts a session and is answered in its thread', async () => {
  const { ts, ack } = await f.standin.userPosts('D0ALICE', { user: 'U0ALICE', text: 'SCRIPT:text' });
  assert.ok(ack.envelope_id, 'the envelope was acknowledged');
  await waitFor('answer', async () => replies('D0ALICE', ts).find((m) => /Finished script text/.test(text(m))), 60_000);
  await waitFor('notice', async () => replies('D0ALICE', ts).find((m) => /Turn 1 done/.test(text(m))), 60_000);
  // Slack redelivers an envelope (retry_attempt 1): processed once.
  const sent = f.standin.envelopes.at(-1)!;
  await f.standin.sendEnvelope('events_api', sent.payload, { retryAttempt: 1, retryReason: 'timeout' });
  const reply = f.standin.addMessage('D0ALICE', { user: 'U0ALICE', text: 'and again', thread_ts: ts });
  await f.standin.sendEnvelope('events_api', f.standin.eventPayload({ type: 'message', channel_type: 'im', user: 'U0ALICE', text: 'and again', ts: reply, thread_ts: ts, channel: 'D0ALICE' }));
  await waitFor('second answer', async () => replies('D0ALICE', ts).find((m) => /Done: and again/.test(text(m))), 60_000);
  const row = await server.database.db.selectFrom('slack_threads').select('session_id').where('thread_ts', '=', ts).executeTakeFirstOrThrow();
  const users = await server.database.db.selectFrom('session_messages').select('content').where('session_id', '=', row.session_id).where('direction', '=', 'user').execute();
  assert.deepEqual(users.map((u) => u.content), ['SCRIPT:text', 'and again']);
  // No HTTP endpoint in this mode: nothing to sign, nothing to forge.
  assert.equal((await fetch(`${server.url}/slack/events`, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } })).status, 404);
});

test('over Socket Mode: slash commands are acknowledged with their answer; a dropped socket reconnects', async () => {
  // Status lists the caller's own sessions: this user has none.
  const status = await f.standin.sendEnvelope('slash_commands', f.standin.commandPayload({ command: '/claude', text: 'status', user_id: 'U0CAROL', channel_id: 'C0SOCK' }));
  assert.match(JSON.stringify(status.payload), /no queued or running sessions/);
  const opened = f.standin.calls.filter((c) => c.method === 'apps.connections.open').length;
  f.standin.disconnectSocket();
  await waitFor('reconnected', async () => f.standin.calls.filter((c) => c.method === 'apps.connections.open').length > opened && f.standin.socketStats().open > 0, 30_000);
  await f.standin.socketConnected();
  await new Promise((r) => setTimeout(r, 200));
  const before = f.standin.messages('C0SOCK').length;
  await f.standin.sendEnvelope('slash_commands', f.standin.commandPayload({ command: '/claude', text: 'SCRIPT:text from a command', user_id: 'U0ALICE', channel_id: 'C0SOCK' }));
  const head = await waitFor('head post', async () => f.standin.messages('C0SOCK').slice(before).find((m) => m.bot_id && (!m.thread_ts || m.thread_ts === m.ts)), 60_000);
  await waitFor('answer', async () => replies('C0SOCK', head.ts).find((m) => /Finished script text/.test(text(m))), 60_000);
});
