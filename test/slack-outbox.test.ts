/**
 * Issue 13, point 4: posts go through a durable outbox. A 429 (Retry-After), Slack failing for
 * 30 s in the middle of a thread, a restart of the server, and a post whose answer was lost after
 * Slack took it: each delays posts, none loses or doubles one.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Server } from '../src/main.ts';
import { waitFor } from './helpers/runner.ts';
import { commandBody, messageEvent, sendToSlackEndpoint, slackFixture, type SlackFixture } from './helpers/slack.ts';
import type { SlackMessage } from './helpers/slack-standin.ts';

let f: SlackFixture;

before(async () => {
  f = await slackFixture({ AUTH: 'off' });
});

after(async () => {
  await f.cleanup();
});

const text = (m: SlackMessage) => JSON.stringify([m.text, m.blocks ?? []]);
const replies = (ch: string, ts: string) => f.standin.thread(ch, ts).filter((m) => m.ts !== ts);

/** No two messages of the thread carry the same outbox id (each post made once). */
function assertOnce(ch: string, ts: string): void {
  const ids = f.standin.thread(ch, ts).map((m) => m.metadata?.event_payload?.outbox_id).filter((x) => x !== undefined);
  assert.equal(new Set(ids).size, ids.length, `doubled posts: ${JSON.stringify(ids)}`);
}

async function start(server: Server, ch: string, prompt: string): Promise<string> {
  const before = f.standin.messages(ch).length;
  const r = await sendToSlackEndpoint(server.url, commandBody(f.standin, { text: prompt, channel: ch }), { form: true });
  assert.equal(r.status, 200);
  assert.ok(r.ms < 3000, `acknowledged in ${r.ms} ms`);
  return (await waitFor('head', async () => f.standin.messages(ch).slice(before).find((m) => m.bot_id && (!m.thread_ts || m.thread_ts === m.ts)), 60_000)).ts;
}

async function say(server: Server, ch: string, ts: string, prompt: string): Promise<void> {
  const ev = messageEvent(f.standin, { channel: ch, user: 'U0ALICE', text: prompt, thread_ts: ts });
  assert.equal((await sendToSlackEndpoint(server.url, ev.body)).status, 200);
}

test('a 429 delays a post by its Retry-After; it is then made once', async () => {
  const server = await f.start();
  try {
    f.standin.rateLimit('chat.postMessage', 2, 2);
    const t0 = Date.now();
    const ts = await start(server, 'C0RATE', 'SCRIPT:text');
    await waitFor('answer', async () => replies('C0RATE', ts).find((m) => /Finished script text/.test(text(m))), 60_000);
    const limited = f.standin.calls.filter((c) => c.method === 'chat.postMessage' && c.status === 429);
    assert.equal(limited.length, 2);
    const firstOk = f.standin.calls.find((c) => c.method === 'chat.postMessage' && c.ok)!;
    assert.ok(firstOk.at - limited[0]!.at >= 1900, `waited ${firstOk.at - limited[0]!.at} ms after the first 429`);
    assert.ok(Date.now() - t0 >= 3800, 'two Retry-After waits of 2 s');
    await waitFor('notice', async () => replies('C0RATE', ts).find((m) => /Turn 1 done/.test(text(m))));
    assertOnce('C0RATE', ts);
  } finally {
    await server.stop();
  }
});

test('Slack failing for 30 s in the middle of a thread delays the posts; all arrive once, in order', async () => {
  const server = await f.start();
  try {
    const ch = 'C0OUTAGE';
    const ts = await start(server, ch, 'SCRIPT:text');
    await waitFor('turn 1 notice', async () => replies(ch, ts).find((m) => /Turn 1 done/.test(text(m))), 60_000);
    f.standin.failFor(30_000, '503');
    const outageEnds = Date.now() + 30_000;
    await say(server, ch, ts, 'SCRIPT:multi');
    await waitFor('the turn ran meanwhile', async () => {
      const rows = await server.database.db.selectFrom('slack_outbox').select(['state', 'attempts']).where('channel_id', '=', ch).where('state', '=', 'pending').where('attempts', '>', 0).execute();
      return rows.length > 0;
    }, 60_000);
    assert.ok(!replies(ch, ts).some((m) => /Finished script multi/.test(text(m))), 'nothing got through the outage');
    const answer = await waitFor('answer after the outage', async () => replies(ch, ts).find((m) => /Finished script multi/.test(text(m))), 120_000);
    assert.ok(Number(answer.ts) * 1000 >= outageEnds - 1000 || Date.now() >= outageEnds, 'delivered after the outage');
    const notice = await waitFor('turn 2 notice', async () => replies(ch, ts).find((m) => /Turn 2 done/.test(text(m))), 60_000);
    assert.ok(Number(notice.ts) > Number(answer.ts), 'the answer comes before its turn notice');
    await waitFor('status line done · turn 2', async () => /done · turn 2/.test(text(f.standin.thread(ch, ts)[0]!)), 60_000);
    assertOnce(ch, ts);
    assert.equal(replies(ch, ts).filter((m) => /Finished script multi/.test(text(m))).length, 1);
  } finally {
    await server.stop();
  }
});

test('a restart while posts wait: the next server sends them, once', async () => {
  const a = await f.start();
  const ch = 'C0RESTART';
  let ts: string;
  try {
    ts = await start(a, ch, 'SCRIPT:text');
    await waitFor('turn 1 notice', async () => replies(ch, ts).find((m) => /Turn 1 done/.test(text(m))), 60_000);
    f.standin.fail(true, 'reset');
    await say(a, ch, ts, 'after restart');
    // The turn has finished and its answer waits in the outbox (behind the thread's refused status edit) when the server stops.
    await waitFor('answer waits in the outbox', async () => {
      const rows = await a.database.db.selectFrom('slack_outbox').select(['payload', 'attempts', 'state']).where('channel_id', '=', ch).where('kind', '=', 'post').execute();
      const done = await a.database.db.selectFrom('turns').select('id').where('status', '=', 'completed').where('prompt', '=', 'after restart').executeTakeFirst();
      // The turn itself finished too (its answer is stored before it ends; stopping then would interrupt it).
      return done !== undefined && rows.some((r) => r.state === 'pending' && JSON.stringify(r.payload).includes('Done: after restart'));
    }, 60_000);
  } finally {
    await a.stop();
  }
  f.standin.fail(false);
  const b = await f.start();
  try {
    await waitFor('answer after the restart', async () => replies(ch, ts).find((m) => /Done: after restart/.test(text(m))), 60_000);
    await waitFor('turn 2 notice', async () => replies(ch, ts).find((m) => /Turn 2 done/.test(text(m))), 60_000);
    assertOnce(ch, ts);
  } finally {
    await b.stop();
  }
});

test('a post Slack took but whose answer was lost is found in the thread, not posted again', async () => {
  const server = await f.start();
  try {
    const ch = 'C0UNSURE';
    // The head post of a slash command starts the thread (a top-level message): looked for in the channel.
    f.standin.failNext('chat.postMessage', 1, 'reset-after');
    const ts = await start(server, ch, 'SCRIPT:text');
    await waitFor('turn 1 notice', async () => replies(ch, ts).find((m) => /Turn 1 done/.test(text(m))), 60_000);
    // The next post is stored by Slack, then the connection drops before the answer.
    f.standin.failNext('chat.postMessage', 1, 'reset-after');
    await say(server, ch, ts, 'lost answer');
    await waitFor('turn 2 notice', async () => replies(ch, ts).find((m) => /Turn 2 done/.test(text(m))), 60_000);
    assert.equal(replies(ch, ts).filter((m) => /Done: lost answer/.test(text(m))).length, 1, 'posted once');
    assert.ok(f.standin.calls.some((c) => c.method === 'conversations.replies'), 'looked in the thread first');
    assert.ok(f.standin.calls.some((c) => c.method === 'conversations.history'), 'looked in the channel for the head post');
    assert.equal(f.standin.messages(ch).filter((m) => m.bot_id && (!m.thread_ts || m.thread_ts === m.ts)).length, 1, 'one head post');
    assertOnce(ch, ts);
  } finally {
    await server.stop();
  }
});

test('an answer past SLACK_FILE_THRESHOLD_CHARS is attached as a file, its start posted with it', async () => {
  const server = await f.start();
  try {
    const ch = 'C0FILE';
    const ts = await start(server, ch, 'SCRIPT:long-answer');
    const shared = await waitFor('file in the thread', async () => replies(ch, ts).find((m) => (m.files ?? []).length > 0), 60_000);
    const file = shared.files![0]!;
    assert.match(file.title, /^answer-\d+\.md/);
    assert.ok(file.content!.includes('line 119 of the listing') && file.content!.includes('END OF LONG ANSWER'), 'the whole answer is in the file');
    assert.match(text(shared), /whole answer \(16,\d{3} characters\) is in the attached file/);
    await waitFor('notice', async () => replies(ch, ts).find((m) => /Turn 1 done/.test(text(m))), 60_000);
    assert.equal(replies(ch, ts).filter((m) => (m.files ?? []).length > 0).length, 1);
  } finally {
    await server.stop();
  }
});
