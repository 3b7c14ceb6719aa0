/**
 * Issue 13 through the real endpoint (POST /slack/events, Bolt behind it) and the Slack stand-in:
 * who may call it (signatures), a whole thread against the scripted model (start, replies, a long
 * answer, stop, done), retries and other bots, key mapping, channel defaults and allow lists.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { after, before, test } from 'node:test';
import type { Server } from '../src/main.ts';
import { waitFor } from './helpers/runner.ts';
import { commandBody, messageEvent, sendToSlackEndpoint, SIGNING_SECRET, slackFixture, type SlackFixture } from './helpers/slack.ts';
import { signedHeaders, type SlackMessage } from './helpers/slack-standin.ts';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

let f: SlackFixture;
let server: Server;
let adminKey: string;

before(async () => {
  // A threshold above the long answer: it is split into messages here (the file case has its own test).
  f = await slackFixture({ SLACK_FILE_THRESHOLD_CHARS: '30000' });
  server = await f.start();
  adminKey = (await server.auth.createKey({ name: 'root', role: 'admin' })).key;
});

after(async () => {
  await f.cleanup();
});

const api = async (p: string): Promise<Json> => (await fetch(`${server.url}${p}`, { headers: { 'x-api-key': adminKey } })).json() as Promise<Json>;

/** Everything a message says: its text and its blocks' texts. */
export function textOf(m: SlackMessage): string {
  const blocks = (m.blocks ?? []) as Json[];
  return [m.text, ...blocks.map((b) => b.text?.text ?? (b.elements ?? []).map((e: Json) => e.text).join(' '))].join('\n');
}

const botTopLevel = (channel: string) => f.standin.messages(channel).filter((m) => m.bot_id && (!m.thread_ts || m.thread_ts === m.ts));
const threadReplies = (channel: string, ts: string) => f.standin.thread(channel, ts).filter((m) => m.ts !== ts);

async function startByCommand(text: string, user = 'U0ALICE', channel = 'C0GENERAL'): Promise<{ threadTs: string; sessionId: string }> {
  const before = botTopLevel(channel).length;
  const r = await sendToSlackEndpoint(server.url, commandBody(f.standin, { text, user, channel }), { form: true });
  assert.equal(r.status, 200, r.text);
  const head = await waitFor('the head post', async () => botTopLevel(channel).length > before && botTopLevel(channel).at(-1));
  const row = await waitFor('the thread row', async () => server.database.db.selectFrom('slack_threads').selectAll().where('thread_ts', '=', head.ts).executeTakeFirst());
  return { threadTs: head.ts, sessionId: row.session_id };
}

async function reply(channel: string, threadTs: string, user: string, text: string, extra?: Record<string, unknown>) {
  const ev = messageEvent(f.standin, { channel, user, text, thread_ts: threadTs, extra });
  const r = await sendToSlackEndpoint(server.url, ev.body);
  assert.equal(r.status, 200, r.text);
  return ev;
}

const waitReply = (channel: string, ts: string, re: RegExp, what = String(re)) =>
  waitFor(what, async () => threadReplies(channel, ts).find((m) => re.test(textOf(m))), 60_000);

test('requests without a valid v0 signature, or stale or future-dated, get 401 and do nothing', async () => {
  const body = commandBody(f.standin, { text: 'SCRIPT:text never runs' });
  // Each timestamp is taken just before its own request, with 10 s to spare: on a slow machine the
  // earlier requests take seconds, and a future date taken before them would drift inside the window.
  const now = () => Math.floor(Date.now() / 1000);
  const cases = [
    await sendToSlackEndpoint(server.url, body, { form: true, unsigned: true }),
    await sendToSlackEndpoint(server.url, body, { form: true, secret: 'another-apps-signing-secret' }),
    await sendToSlackEndpoint(server.url, body, { form: true, timestamp: now() - 310 }),
    await sendToSlackEndpoint(server.url, body, { form: true, timestamp: now() + 310 }),
    await sendToSlackEndpoint(server.url, body, { form: true, headers: { 'x-slack-signature': 'v0=' + '0'.repeat(64) } }),
  ];
  for (const r of cases) {
    assert.equal(r.status, 401, r.text);
    assert.equal((r.json as Json | undefined)?.error?.code, 'invalid_signature');
  }
  // Signed with the body changed after signing: refused too.
  const tampered = await fetch(`${server.url}/slack/events`, { method: 'POST', headers: signedHeaders(SIGNING_SECRET, body, { contentType: 'application/x-www-form-urlencoded' }), body: body.replace('never', 'later') });
  assert.equal(tampered.status, 401);
  await new Promise((r) => setTimeout(r, 300));
  const inbox = await server.database.db.selectFrom('slack_inbox').select('key').execute();
  assert.deepEqual(inbox, [], 'nothing was accepted');
  const sessions = await api('/api/sessions');
  assert.equal(sessions.data.length, 0);
  // Within 5 minutes either way is fine; Slack's URL check answers the challenge.
  const ok = await sendToSlackEndpoint(server.url, JSON.stringify({ type: 'url_verification', challenge: 'c-123', token: 'x' }), { timestamp: now() - 240 });
  assert.equal(ok.status, 200);
  assert.deepEqual(ok.json, { challenge: 'c-123' });
});

test('a whole thread: start, two replies (one long), a retry, another bot, stop, done', async () => {
  const { threadTs, sessionId } = await startByCommand('SCRIPT:bash');
  const ch = 'C0GENERAL';
  const session = await api(`/api/sessions/${sessionId}`);
  assert.equal(session.source, 'slack');
  assert.equal(session.owner, 'slack:U0ALICE', 'an unmapped user acts as slack:<id>');
  const head = f.standin.thread(ch, threadTs)[0]!;
  assert.match(textOf(head), /cco\.example\.test\/sessions\//);
  await waitReply(ch, threadTs, /Finished script bash\./);
  const notice1 = await waitReply(ch, threadTs, /Turn 1 done/);
  assert.match(textOf(notice1), /tools: Bash/);
  assert.match(textOf(notice1), /\$\d+\.\d{4}/);
  await waitFor('status line: done', async () => /done/.test(textOf(f.standin.thread(ch, threadTs)[0]!)));

  // Reply one: a long answer, split into messages that fit, with nothing lost or broadcast.
  await reply(ch, threadTs, 'U0ALICE', 'SCRIPT:long-answer');
  await waitReply(ch, threadTs, /Turn 2 done/);
  const parts = threadReplies(ch, threadTs).filter((m) => /part \d+ of \d+/.test(textOf(m)));
  assert.ok(parts.length >= 2, `split into ${parts.length} messages`);
  const joined = parts.map(textOf).join('\n');
  for (const s of ['Paragraph 1 of the long answer', 'line 119 of the listing', 'Paragraph 24 of the long answer', 'END OF LONG ANSWER']) assert.ok(joined.includes(s), s);
  assert.doesNotMatch(joined, /<!channel>/);
  for (const p of parts) assert.ok((p.blocks ?? []).length <= 50);

  // Reply two, delivered twice by Slack (a retry of the same event): one turn.
  const ev = messageEvent(f.standin, { channel: ch, user: 'U0ALICE', text: 'second reply', thread_ts: threadTs });
  assert.equal((await sendToSlackEndpoint(server.url, ev.body)).status, 200);
  assert.equal((await sendToSlackEndpoint(server.url, ev.body, { headers: { 'x-slack-retry-num': '1', 'x-slack-retry-reason': 'http_timeout' } })).status, 200);
  await waitReply(ch, threadTs, /Done: second reply/);
  await waitReply(ch, threadTs, /Turn 3 done/);
  // Another bot in the thread is not a request.
  await reply(ch, threadTs, 'U0OTHERBOT', 'I am a bot', { bot_id: 'B0OTHER' });
  await new Promise((r) => setTimeout(r, 500));
  const messages = (await api(`/api/sessions/${sessionId}/messages?limit=200`)).data as Json[];
  const userMessages = messages.filter((m) => m.direction === 'user').map((m) => m.content);
  assert.deepEqual(userMessages, ['SCRIPT:bash', 'SCRIPT:long-answer', 'second reply']);
  assert.equal(messages.find((m) => m.content === 'second reply')!.metadata.slack.user, 'U0ALICE');

  // stop: only the starter (or an admin); it interrupts the running turn.
  await reply(ch, threadTs, 'U0ALICE', 'SCRIPT:sleep');
  await waitFor('status line: running', async () => /running/.test(textOf(f.standin.thread(ch, threadTs)[0]!)), 60_000);
  await reply(ch, threadTs, 'U0BOB', 'stop');
  await waitFor('bob is told', async () => f.standin.ephemerals(ch, 'U0BOB').find((m) => /Only the person who started this session/.test(m.text)));
  assert.equal((await api(`/api/sessions/${sessionId}`)).turn_state, 'running', 'bob did not stop it');
  await reply(ch, threadTs, 'U0ALICE', 'stop');
  await waitReply(ch, threadTs, /Turn 4 interrupted/);
  await waitFor('status line: stopped', async () => /stopped/.test(textOf(f.standin.thread(ch, threadTs)[0]!)));
  assert.equal((await api(`/api/sessions/${sessionId}`)).status, 'paused');

  // done closes it.
  await reply(ch, threadTs, 'U0ALICE', 'done');
  await waitFor('closed', async () => (await api(`/api/sessions/${sessionId}`)).status === 'completed');
  await waitFor('status line: closed', async () => /closed/.test(textOf(f.standin.thread(ch, threadTs)[0]!)));

  // Each post was made once: no two thread messages carry the same outbox id.
  const ids = f.standin.thread(ch, threadTs).map((m) => m.metadata?.event_payload?.outbox_id).filter(Boolean);
  assert.equal(new Set(ids).size, ids.length);
  // Who did what is in the audit log, as the Slack user's principal.
  const audit = await api('/api/audit?limit=100');
  assert.ok(audit.data.some((e: Json) => e.action === 'session.created' && e.actor === 'slack:U0ALICE'));
  assert.ok(audit.data.some((e: Json) => e.action === 'session.status_changed' && e.actor === 'slack:U0ALICE' && e.detail.to === 'completed'));
});

test('a mention and a direct message start sessions in their own threads; /claude status lists them', async () => {
  const mention = messageEvent(f.standin, { channel: 'C0DEV', user: 'U0ALICE', text: `<@${f.standin.botUserId}> SCRIPT:text`, type: 'app_mention' });
  // Slack also sends the same message as a message event: one session, not two.
  const asMessage = JSON.parse(mention.body) as Json;
  asMessage.event.type = 'message';
  asMessage.event.channel_type = 'channel';
  asMessage.event_id = `${asMessage.event_id}X`;
  assert.equal((await sendToSlackEndpoint(server.url, mention.body)).status, 200);
  assert.equal((await sendToSlackEndpoint(server.url, JSON.stringify(asMessage))).status, 200);
  await waitReply('C0DEV', mention.ts, /Finished script text\./);
  const dm = messageEvent(f.standin, { channel: 'D0ALICE', user: 'U0ALICE', text: 'SCRIPT:sleep' });
  assert.equal((await sendToSlackEndpoint(server.url, dm.body)).status, 200);
  const threads = await waitFor('two threads', async () => {
    const rows = await server.database.db.selectFrom('slack_threads').selectAll().where('channel_id', 'in', ['C0DEV', 'D0ALICE']).execute();
    return rows.length === 2 && rows;
  });
  assert.deepEqual(threads.map((t) => t.thread_ts).sort(), [mention.ts, dm.ts].sort());
  const sleeping = threads.find((t) => t.channel_id === 'D0ALICE')!;
  await waitFor('dm turn running', async () => (await api(`/api/sessions/${sleeping.session_id}`)).turn_state === 'running', 60_000);
  const status = await sendToSlackEndpoint(server.url, commandBody(f.standin, { text: 'status' }), { form: true });
  assert.equal(status.status, 200);
  assert.equal(status.json?.response_type, 'ephemeral');
  assert.match(String(status.json?.text), new RegExp(`${sleeping.session_id.slice(0, 8)}.* running`));
  const stop = await sendToSlackEndpoint(server.url, commandBody(f.standin, { text: `stop ${sleeping.session_id.slice(0, 8)}`, user: 'U0BOB' }), { form: true });
  assert.match(String(stop.json?.text), /no session of yours/);
  const stopped = await sendToSlackEndpoint(server.url, commandBody(f.standin, { text: `stop ${sleeping.session_id}` }), { form: true });
  assert.match(String(stopped.json?.text), /Stopped session/);
  await waitFor('dm session paused', async () => (await api(`/api/sessions/${sleeping.session_id}`)).status === 'paused');
});

test('mapped users act as their key; channel defaults are for admins; bad options are explained', async () => {
  await server.auth.createKey({ name: 'alice', role: 'user' });
  await server.auth.createKey({ name: 'boss', role: 'admin' });
  const cli = (...args: string[]) => promisify(execFile)(process.execPath, [path.resolve('bin/cco.mjs'), 'slack', ...args], { env: { ...process.env, ...f.env } });
  assert.match((await cli('map', 'U0MAPPED', 'alice')).stdout, /acts as "alice" \(user\)/);
  assert.match((await cli('map', 'U0BOSS', 'boss')).stdout, /\(admin\)/);
  assert.match((await cli('users')).stdout, /U0MAPPED\s+alice/);
  await assert.rejects(cli('map', 'not-a-user', 'alice'), /not a Slack user id/);

  const refused = await sendToSlackEndpoint(server.url, commandBody(f.standin, { text: 'config mode=plan', user: 'U0MAPPED', channel: 'C0CONF' }), { form: true });
  assert.match(String(refused.json?.text), /Only admins/);
  const set = await sendToSlackEndpoint(server.url, commandBody(f.standin, { text: 'config mode=plan', user: 'U0BOSS', channel: 'C0CONF' }), { form: true });
  assert.match(String(set.json?.text), /`mode=plan`/);

  const { sessionId } = await startByCommand('SCRIPT:text', 'U0MAPPED', 'C0CONF');
  const s = await api(`/api/sessions/${sessionId}`);
  assert.equal(s.owner, 'alice', 'the mapped key owns it: it is theirs in the dashboard');
  assert.equal(s.run_options.permission_mode, 'plan', 'the channel default applied');

  const bad = await sendToSlackEndpoint(server.url, commandBody(f.standin, { text: 'mode=yolo do it' }), { form: true });
  assert.match(String(bad.json?.text), /mode=plan or mode=acceptEdits/);
  // A refusal by the service (a user key may not use a folder outside its own roots) reaches the user.
  await sendToSlackEndpoint(server.url, commandBody(f.standin, { text: 'path=/etc do it', user: 'U0MAPPED', channel: 'C0CONF' }), { form: true });
  await waitFor('the refusal is told', async () => f.standin.ephemerals('C0CONF', 'U0MAPPED').find((m) => /:warning:/.test(m.text)));
});

test('allow lists refuse other channels and users; SLACK_USER_MAP maps users to keys', async () => {
  const limited = await f.start({ SLACK_ALLOWED_CHANNELS: 'C0OK', SLACK_ALLOWED_USERS: 'U0ENV,U0ALICE,U0GHOST', SLACK_USER_MAP: 'U0ENV=erin,U0GHOST=ghost' });
  await limited.auth.createKey({ name: 'erin', role: 'user' });
  const count = async () => (await api('/api/sessions?limit=200')).data.length as number;
  const before = await count();
  const other = await sendToSlackEndpoint(limited.url, commandBody(f.standin, { text: 'SCRIPT:text', channel: 'C0NOPE' }), { form: true });
  assert.match(String(other.json?.text), /not allowed/);
  const stranger = await sendToSlackEndpoint(limited.url, commandBody(f.standin, { text: 'SCRIPT:text', channel: 'C0OK', user: 'U0STRANGER' }), { form: true });
  assert.match(String(stranger.json?.text), /not allowed/);
  const mention = messageEvent(f.standin, { channel: 'C0NOPE', user: 'U0ALICE', text: `<@${f.standin.botUserId}> SCRIPT:text`, type: 'app_mention' });
  assert.equal((await sendToSlackEndpoint(limited.url, mention.body)).status, 200);
  await new Promise((r) => setTimeout(r, 500));
  assert.equal(await count(), before, 'nothing started');
  assert.equal(f.standin.thread('C0NOPE', mention.ts).length, 1, 'no answer in a channel not allowed');

  const ok = messageEvent(f.standin, { channel: 'C0OK', user: 'U0ENV', text: `<@${f.standin.botUserId}> SCRIPT:text`, type: 'app_mention' });
  assert.equal((await sendToSlackEndpoint(limited.url, ok.body)).status, 200);
  const row = await waitFor('thread', async () => limited.database.db.selectFrom('slack_threads').selectAll().where('thread_ts', '=', ok.ts).executeTakeFirst());
  // The thread row is written first (the session id is chosen up front): the session follows it.
  const owner = await waitFor('the session', async () => (await api(`/api/sessions/${row.session_id}`)).owner as string | undefined);
  assert.equal(owner, 'erin', 'SLACK_USER_MAP: U0ENV acts as erin');
  await waitReply('C0OK', ok.ts, /Finished script text\./);
  // Mapped to a name no live key has: refused, and told why.
  await sendToSlackEndpoint(limited.url, commandBody(f.standin, { text: 'SCRIPT:text', channel: 'C0OK', user: 'U0GHOST' }), { form: true });
  await waitFor('the ghost is told', async () => f.standin.ephemerals('C0OK', 'U0GHOST').find((m) => /mapped to the orchestrator key "ghost", but no live admin or user key/.test(m.text)));
});
