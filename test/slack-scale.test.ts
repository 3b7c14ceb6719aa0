/**
 * Issue 13 with two API processes (real `cco serve` processes over one database): Slack's
 * requests land on either, a duplicate delivery lands on both at once, and both run outbox
 * senders; each request is handled once and each post made once.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { waitFor } from './helpers/runner.ts';
import { startServeProcess, type ServeProcess } from './helpers/serve.ts';
import { commandBody, messageEvent, sendToSlackEndpoint, slackFixture, type SlackFixture } from './helpers/slack.ts';
import type { SlackMessage } from './helpers/slack-standin.ts';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

let f: SlackFixture;
const procs: ServeProcess[] = [];

before(async () => {
  f = await slackFixture({ AUTH: 'off' });
});

after(async () => {
  for (const p of procs) p.child.kill('SIGKILL');
  await f.cleanup();
});

const text = (m: SlackMessage) => JSON.stringify([m.text, m.blocks ?? []]);
const replies = (ch: string, ts: string) => f.standin.thread(ch, ts).filter((m) => m.ts !== ts);
const get = (url: string): Promise<Json> => fetch(url).then((r) => r.json() as Promise<Json>);

test('two API processes: each request handled once, each post made once', async () => {
  const env = { ...f.env, LOG_LEVEL: 'info' };
  const a = await startServeProcess({ ...env, DATA_DIR: `${f.dir}/a` });
  procs.push(a);
  const b = await startServeProcess({ ...env, DATA_DIR: `${f.dir}/b` });
  procs.push(b);
  const ch = 'C0SCALE';

  // The same slash command delivered to both processes at once (one trigger_id): one session.
  const cmd = commandBody(f.standin, { text: 'SCRIPT:text', channel: ch });
  const acks = await Promise.all([sendToSlackEndpoint(a.url, cmd, { form: true }), sendToSlackEndpoint(b.url, cmd, { form: true })]);
  assert.deepEqual(acks.map((r) => r.status), [200, 200]);
  const head = await waitFor('head', async () => f.standin.messages(ch).find((m) => m.bot_id && (!m.thread_ts || m.thread_ts === m.ts)), 60_000);
  await waitFor('turn 1 notice', async () => replies(ch, head.ts).find((m) => /Turn 1 done/.test(text(m))), 60_000);

  // Replies alternate between the processes; one of them is delivered to both, and retried.
  for (const [i, target] of [a, b, a].entries()) {
    const ev = messageEvent(f.standin, { channel: ch, user: 'U0ALICE', text: `reply ${i + 1}`, thread_ts: head.ts });
    const sent = [sendToSlackEndpoint(target.url, ev.body)];
    if (i === 1) sent.push(sendToSlackEndpoint(a.url, ev.body, { headers: { 'x-slack-retry-num': '1', 'x-slack-retry-reason': 'http_timeout' } }));
    for (const r of await Promise.all(sent)) assert.equal(r.status, 200);
    await waitFor(`answer ${i + 1}`, async () => replies(ch, head.ts).find((m) => new RegExp(`Done: reply ${i + 1}`).test(text(m))), 60_000);
    await waitFor(`notice ${i + 2}`, async () => replies(ch, head.ts).find((m) => new RegExp(`Turn ${i + 2} done`).test(text(m))), 60_000);
  }
  await waitFor('status line: done · turn 4', async () => /done · turn 4/.test(text(f.standin.thread(ch, head.ts)[0]!)), 30_000);
  // Both processes ran their outbox senders the whole time; give them a moment to double anything.
  await new Promise((r) => setTimeout(r, 1500));

  const sessions = (await get(`${a.url}/api/sessions?limit=50`)).data as Json[];
  assert.equal(sessions.filter((s) => s.source === 'slack').length, 1, 'one session for the doubled command');
  const messages = (await get(`${b.url}/api/sessions/${sessions[0]!.id}/messages?limit=200`)).data as Json[];
  assert.deepEqual(messages.filter((m) => m.direction === 'user').map((m) => m.content), ['SCRIPT:text', 'reply 1', 'reply 2', 'reply 3']);
  const thread = f.standin.thread(ch, head.ts);
  const ids = thread.map((m) => m.metadata?.event_payload?.outbox_id).filter((x) => x !== undefined);
  assert.equal(new Set(ids).size, ids.length, 'no post made twice');
  assert.equal(thread.filter((m) => /Turn \d done/.test(text(m))).length, 4, 'one notice per turn');
  assert.equal(thread.filter((m) => /Done: reply 2/.test(text(m))).length, 1);
  assert.equal(f.standin.messages(ch).filter((m) => m.bot_id && (!m.thread_ts || m.thread_ts === m.ts)).length, 1, 'one head post');
});
