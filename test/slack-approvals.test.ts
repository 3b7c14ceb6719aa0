/**
 * Issue 15 in Slack: a call waiting for approval is posted in its session's thread with Approve,
 * Always-allow-in-this-session and Deny buttons; a press is a signed interaction payload through
 * POST /slack/events (Bolt), decided as the Slack user's key; only the owner (or an admin or a
 * named approver) may decide; the decision is posted in the thread; a late press is told who
 * decided. Nothing runs before the allow (the marker file).
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import type { Server } from '../src/main.ts';
import { waitFor } from './helpers/runner.ts';
import { commandBody, sendToSlackEndpoint, slackFixture, type SlackFixture } from './helpers/slack.ts';
import type { SlackMessage } from './helpers/slack-standin.ts';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

let f: SlackFixture;
let server: Server;

before(async () => {
  f = await slackFixture({
    APPROVAL_POLICY: JSON.stringify({ default: 'allow', rules: [{ tool: 'Bash', command: 'touch *', action: 'ask' }] }),
    APPROVAL_WAIT_S: '1',
  });
  server = await f.start();
});
after(async () => {
  await f.cleanup();
});

const textOf = (m: SlackMessage) => [m.text, ...((m.blocks ?? []) as Json[]).map((b) => b.text?.text ?? '')].join('\n');

/** What Slack POSTs when someone presses a button: form-encoded `payload`, signed like every request. */
function buttonPress(p: { user: string; channel: string; messageTs: string; threadTs: string; actionId: string; value: string }): string {
  const payload = {
    type: 'block_actions',
    team: { id: f.standin.teamId, domain: 'test' },
    user: { id: p.user, username: p.user.toLowerCase(), team_id: f.standin.teamId },
    api_app_id: 'A0TEST',
    token: 'legacy-verification-token',
    container: { type: 'message', message_ts: p.messageTs, channel_id: p.channel, is_ephemeral: false },
    trigger_id: `${Date.now()}.trigger`,
    channel: { id: p.channel, name: 'general' },
    message: { type: 'message', ts: p.messageTs, thread_ts: p.threadTs, text: 'waits for approval' },
    response_url: `${f.standin.apiUrl}response`,
    actions: [{ type: 'button', action_id: p.actionId, block_id: `approval:${p.value}`, value: p.value, text: { type: 'plain_text', text: 'x' }, action_ts: String(Date.now() / 1000) }],
  };
  return new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
}

test('approve from the thread: buttons posted, a stranger refused, the owner approves, the call runs, a late press is told', async () => {
  const ch = 'C0GENERAL';
  const script = JSON.stringify([{ tool: 'Bash', input: { command: 'touch slack-ok.txt', description: 'x' } }, { text: 'after' }]);
  const r = await sendToSlackEndpoint(server.url, commandBody(f.standin, { text: `SCRIPT_JSON:${script}`, user: 'U0ALICE', channel: ch }), { form: true });
  assert.equal(r.status, 200);
  const head = await waitFor('head post', async () => f.standin.messages(ch).find((m) => m.bot_id && /started by/.test(textOf(m))));
  const ask = await waitFor('the approval post', async () => f.standin.thread(ch, head.ts).find((m) => /waits for approval/.test(textOf(m))), 60_000);
  assert.match(textOf(ask), /touch slack-ok\.txt/, 'the exact command');
  const actions = ((ask.blocks ?? []) as Json[]).find((b) => b.type === 'actions')!;
  assert.deepEqual(actions.elements.map((e: Json) => e.text.text), ['Approve', 'Always allow in this session', 'Deny']);
  const approvalId = actions.elements[0].value as string;
  const row = await server.database.db.selectFrom('approvals').selectAll().where('id', '=', approvalId).executeTakeFirstOrThrow();
  const session = await server.database.db.selectFrom('sessions').select(['project_path', 'owner']).where('id', '=', row.session_id).executeTakeFirstOrThrow();
  assert.equal(session.owner, 'slack:U0ALICE');
  const marker = path.join(session.project_path, 'slack-ok.txt');
  assert.equal(fs.existsSync(marker), false);

  // Unsigned: refused before anything. Bob (not the owner): told he may not.
  const unsigned = await sendToSlackEndpoint(server.url, buttonPress({ user: 'U0ALICE', channel: ch, messageTs: ask.ts, threadTs: head.ts, actionId: 'cco_approval_allow', value: approvalId }), { form: true, unsigned: true });
  assert.equal(unsigned.status, 401);
  const bob = await sendToSlackEndpoint(server.url, buttonPress({ user: 'U0BOB', channel: ch, messageTs: ask.ts, threadTs: head.ts, actionId: 'cco_approval_allow', value: approvalId }), { form: true });
  assert.equal(bob.status, 200);
  await waitFor('bob is told', async () => f.standin.ephemerals(ch, 'U0BOB').find((m) => /may not decide/.test(m.text)));
  assert.equal((await server.database.db.selectFrom('approvals').select('status').where('id', '=', approvalId).executeTakeFirstOrThrow()).status, 'pending');

  // The turn stops waiting after APPROVAL_WAIT_S: the approval then continues the session (the path of a decision taken later).
  await waitFor('the turn parked the call', async () => (await server.database.db.selectFrom('approvals').select('parked').where('id', '=', approvalId).executeTakeFirstOrThrow()).parked);
  const alice = await sendToSlackEndpoint(server.url, buttonPress({ user: 'U0ALICE', channel: ch, messageTs: ask.ts, threadTs: head.ts, actionId: 'cco_approval_allow', value: approvalId }), { form: true });
  assert.equal(alice.status, 200);
  await waitFor('the decision in the thread', async () => f.standin.thread(ch, head.ts).find((m) => /Approved by slack:U0ALICE \(slack\)/.test(textOf(m))));
  await waitFor('the approved call ran', async () => fs.existsSync(marker), 60_000);
  await waitFor('its answer in the thread', async () => f.standin.thread(ch, head.ts).find((m) => /Finished the approved call/.test(textOf(m))), 60_000).catch((e: unknown) => {
    console.log('thread at the time out:', JSON.stringify(f.standin.thread(ch, head.ts).map(textOf)));
    throw e;
  });
  const decided = await server.database.db.selectFrom('approvals').selectAll().where('id', '=', approvalId).executeTakeFirstOrThrow();
  assert.equal(decided.decided_via, 'slack');
  assert.equal(decided.decided_by, 'slack:U0ALICE');

  // A second press (the same or another button): told who decided and when.
  await sendToSlackEndpoint(server.url, buttonPress({ user: 'U0ALICE', channel: ch, messageTs: ask.ts, threadTs: head.ts, actionId: 'cco_approval_deny', value: approvalId }), { form: true });
  await waitFor('the late press is told', async () => f.standin.ephemerals(ch, 'U0ALICE').find((m) => /Already decided: already allowed by slack:U0ALICE at \d{4}-/.test(m.text)));
  const posts = f.standin.thread(ch, head.ts).filter((m) => /waits for approval/.test(textOf(m)));
  assert.equal(posts.length, 1, 'the request was posted once');
});
