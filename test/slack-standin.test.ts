/** The Slack stand-in, driven by the official clients: @slack/web-api's WebClient and @slack/socket-mode. */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { App, isValidSlackRequest } from '@slack/bolt';
import { SocketModeClient } from '@slack/socket-mode';
import { LogLevel, WebAPIHTTPError, WebAPIPlatformError, WebAPIRateLimitedError, WebAPIRequestError, WebClient, type Logger, type WebClientOptions } from '@slack/web-api';
import { SlackStandin, signedHeaders, slackSignature } from './helpers/slack-standin.ts';

const quiet: Logger = {
  debug() {}, info() {}, warn() {}, error() {}, setLevel() {}, setName() {}, getLevel: () => LogLevel.ERROR,
};

let slack: SlackStandin;
before(async () => {
  slack = await SlackStandin.start({ botToken: 'xoxb-standin-test', appToken: 'xapp-1-standin-test', pingIntervalMs: 100 });
});
after(() => slack.stop());

/** A WebClient that surfaces rate limits and HTTP failures at once instead of retrying. */
const client = (token: string | null = slack.botToken, opts: WebClientOptions = {}) =>
  new WebClient(token ?? undefined, { slackApiUrl: slack.apiUrl, logger: quiet, rejectRateLimitedCalls: true, retryConfig: { retries: 0 }, ...opts });

/** The Slack error code a call was refused with. */
async function slackError(p: Promise<unknown>): Promise<string> {
  const e = await p.then(() => assert.fail('the call was expected to be refused'), (x: unknown) => x);
  assert.ok(e instanceof WebAPIPlatformError, `a platform error, got ${String(e)}`);
  return e.data.error;
}

const section = (text: string) => ({ type: 'section', text: { type: 'mrkdwn', text } });

describe('Web API', () => {
  test('tokens: missing, unknown and wrong-kind tokens are refused; auth.test describes the bot', async () => {
    assert.equal(await slackError(client(null).auth.test()), 'not_authed');
    assert.equal(await slackError(client('xoxb-nope').chat.postMessage({ channel: 'C1', text: 'x' })), 'invalid_auth');
    assert.equal(await slackError(client(slack.appToken).chat.postMessage({ channel: 'C1', text: 'x' })), 'not_allowed_token_type');
    assert.equal(await slackError(client().apps.connections.open({})), 'not_allowed_token_type');
    const me = await client().auth.test();
    assert.deepEqual([me.user_id, me.bot_id, me.team_id], [slack.botUserId, slack.botId, slack.teamId]);
    assert.equal(me.url, `${slack.url}/`);
    const refused = slack.calls.filter((c) => !c.ok).map((c) => [c.method, c.status, c.error]);
    assert.deepEqual(refused.slice(0, 2), [['auth.test', 200, 'not_authed'], ['chat.postMessage', 200, 'invalid_auth']]);
    assert.equal(slack.messages('C1').length, 0, 'refused posts leave nothing behind');
  });

  test('postMessage into a thread: fresh increasing ts, thread bookkeeping, bad thread and channel refused', async () => {
    const root = slack.addMessage('C2', { user: 'U1', text: '<@U0STANDINBOT> please fix it' });
    const web = client();
    const a = await web.chat.postMessage({ channel: 'C2', thread_ts: root, text: 'on it' });
    const b = await web.chat.postMessage({ channel: 'C2', thread_ts: a.ts as string, text: 'done', metadata: { event_type: 'cco_turn', event_payload: { turn: 7 } } });
    assert.ok(Number(a.ts) > Number(root) && Number(b.ts) > Number(a.ts), 'each ts is later than the last');
    assert.match(a.ts as string, /^\d{10}\.\d{6}$/);
    assert.equal(b.message?.thread_ts, root, 'a reply to a reply lands in the root thread');
    const thread = slack.thread('C2', root);
    assert.deepEqual(thread.map((m) => m.text), ['<@U0STANDINBOT> please fix it', 'on it', 'done']);
    assert.equal(thread[0]?.reply_count, 2);
    assert.deepEqual(thread[2]?.metadata, { event_type: 'cco_turn', event_payload: { turn: 7 } });
    assert.equal(await slackError(web.chat.postMessage({ channel: 'C2', thread_ts: '1.000001', text: 'x' })), 'thread_not_found');
    assert.equal(await slackError(web.chat.postMessage({ channel: 'nowhere', text: 'x' })), 'channel_not_found');
    slack.addChannel('C3', { isMember: false });
    assert.equal(await slackError(web.chat.postMessage({ channel: 'C3', text: 'x' })), 'not_in_channel');
    assert.equal(slack.thread('C2', root).length, 3);
  });

  test('strictChannels: only added channels exist', async () => {
    const strict = await SlackStandin.start({ botToken: 'xoxb-strict', strictChannels: true });
    try {
      const web = new WebClient('xoxb-strict', { slackApiUrl: strict.apiUrl, logger: quiet, retryConfig: { retries: 0 } });
      assert.equal(await slackError(web.chat.postMessage({ channel: 'C9', text: 'x' })), 'channel_not_found');
      strict.addChannel('C9');
      assert.equal((await web.chat.postMessage({ channel: 'C9', text: 'x' })).ok, true);
    } finally {
      await strict.stop();
    }
  });

  test('message limits: no_text, msg_too_long, invalid_blocks, msg_blocks_too_long', async () => {
    const web = client();
    const post = (args: Record<string, unknown>) => web.chat.postMessage({ channel: 'C4', ...args } as Parameters<typeof web.chat.postMessage>[0]);
    assert.equal(await slackError(post({})), 'no_text');
    assert.equal(await slackError(post({ text: 'x'.repeat(40_001) })), 'msg_too_long');
    assert.equal((await post({ text: 'x'.repeat(40_000) })).ok, true);
    assert.equal(await slackError(post({ text: 'x', blocks: Array.from({ length: 51 }, () => section('b')) })), 'invalid_blocks');
    assert.equal((await post({ text: 'x', blocks: Array.from({ length: 50 }, () => section('b')) })).ok, true);
    const tooLong = await post({ text: 'x', blocks: [section('y'.repeat(3_001))] }).catch((e: WebAPIPlatformError) => e.data);
    assert.equal(tooLong.error, 'invalid_blocks');
    assert.match(String((tooLong as { errors?: string[] }).errors), /json-pointer:\/blocks\/0\/text\/text/);
    assert.equal(await slackError(post({ text: 'x', blocks: Array.from({ length: 5 }, () => section('z'.repeat(2_900))) })), 'msg_blocks_too_long');
    assert.equal(slack.messages('C4').length, 2, 'only the two posts within limits landed');
  });

  test('update, ephemeral, reactions and delete', async () => {
    const web = client();
    const root = slack.addMessage('C5', { user: 'U2', text: 'hi' });
    const { ts } = await web.chat.postMessage({ channel: 'C5', thread_ts: root, text: 'working…' });
    await web.chat.update({ channel: 'C5', ts: ts as string, text: 'finished', blocks: [section('*finished*')] });
    assert.equal(await slackError(web.chat.update({ channel: 'C5', ts: '1.000002', text: 'x' })), 'message_not_found');
    assert.equal(await slackError(web.chat.update({ channel: 'C5', ts: root, text: 'x' })), 'cant_update_message');
    assert.equal(await slackError(web.chat.update({ channel: 'C5', ts: ts as string, text: 'y'.repeat(40_001) })), 'msg_too_long');
    await web.reactions.add({ channel: 'C5', timestamp: root, name: 'eyes' });
    assert.equal(await slackError(web.reactions.add({ channel: 'C5', timestamp: root, name: 'eyes' })), 'already_reacted');
    assert.equal(await slackError(web.reactions.add({ channel: 'C5', timestamp: '1.000003', name: 'eyes' })), 'message_not_found');
    await web.reactions.add({ channel: 'C5', timestamp: root, name: 'white_check_mark' });
    await web.reactions.remove({ channel: 'C5', timestamp: root, name: 'eyes' });
    assert.equal(await slackError(web.reactions.remove({ channel: 'C5', timestamp: root, name: 'eyes' })), 'no_reaction');
    const eph = await web.chat.postEphemeral({ channel: 'C5', user: 'U2', thread_ts: root, text: 'only you' });
    const [rootMsg, reply] = slack.thread('C5', root);
    assert.equal(reply?.text, 'finished');
    assert.ok(reply?.edited, 'an updated message is marked edited');
    assert.deepEqual(rootMsg?.reactions, [{ name: 'white_check_mark', users: [slack.botUserId], count: 1 }]);
    assert.deepEqual(slack.ephemerals('C5', 'U2').map((e) => [e.ts, e.text, e.thread_ts]), [[eph.message_ts, 'only you', root]]);
    assert.equal(slack.thread('C5', root).length, 2, 'an ephemeral message is not part of the thread');
    await web.chat.delete({ channel: 'C5', ts: ts as string });
    assert.equal(slack.thread('C5', root).length, 1);
  });

  test('conversations.replies: the thread in order, metadata only with include_all_metadata', async () => {
    const web = client();
    const root = slack.addMessage('C6', { user: 'U3', text: 'go' });
    const metadata = { event_type: 'cco_post', event_payload: { key: 'k-1' } };
    const { ts } = await web.chat.postMessage({ channel: 'C6', thread_ts: root, text: 'reply', metadata });
    const plain = await web.conversations.replies({ channel: 'C6', ts: root });
    assert.deepEqual(plain.messages?.map((m) => m.ts), [root, ts]);
    assert.equal(plain.messages?.[1]?.metadata, undefined);
    const withMeta = await web.conversations.replies({ channel: 'C6', ts: root, include_all_metadata: true });
    assert.deepEqual(withMeta.messages?.[1]?.metadata, metadata);
    assert.equal(await slackError(web.conversations.replies({ channel: 'C6', ts: '1.000004' })), 'thread_not_found');
  });

  test('files.uploadV2 lands the file in the thread; the upload URL keeps the bytes', async () => {
    const web = client();
    const root = slack.addMessage('C7', { user: 'U4', text: 'send the log' });
    const res = await web.files.uploadV2({ channel_id: 'C7', thread_ts: root, content: 'line 1\nline 2\n', filename: 'run.log', title: 'Run log', initial_comment: 'here it is' });
    assert.equal(res.ok, true);
    const reply = slack.thread('C7', root)[1];
    assert.equal(reply?.text, 'here it is');
    assert.deepEqual(reply?.files?.map((f) => [f.name, f.title, f.size, f.content]), [['run.log', 'Run log', 14, 'line 1\nline 2\n']]);
    const bin = Buffer.from([0, 1, 2, 255]);
    await web.files.uploadV2({ channel_id: 'C7', thread_ts: root, file: bin, filename: 'blob.bin' });
    const binFile = slack.thread('C7', root)[2]?.files?.[0];
    assert.equal(binFile?.content, undefined, 'binary files carry no text content');
    assert.deepEqual(slack.file(binFile?.id ?? '')?.bytes, bin);
    assert.deepEqual(slack.calls.filter((c) => c.method === '(upload)').at(-1)?.params, { file_id: binFile?.id, size: 4 });
    // Slack refuses JSON for this one method.
    const r = await fetch(`${slack.apiUrl}files.getUploadURLExternal`, {
      method: 'POST', headers: { authorization: `Bearer ${slack.botToken}`, 'content-type': 'application/json' }, body: JSON.stringify({ filename: 'a', length: 1 }),
    });
    assert.equal(((await r.json()) as { error: string }).error, 'invalid_arguments');
  });

  test('rate limits: 429 with Retry-After, seen by the client; a retrying client waits and succeeds', async () => {
    slack.rateLimit('chat.postMessage', 1, 7);
    const e = await client().chat.postMessage({ channel: 'C8', text: 'x' }).catch((x: unknown) => x);
    assert.ok(e instanceof WebAPIRateLimitedError);
    assert.equal(e.retryAfter, 7);
    assert.deepEqual(slack.calls.at(-1), { ...slack.calls.at(-1), method: 'chat.postMessage', status: 429, error: 'ratelimited', fault: 'ratelimited' });
    assert.equal(slack.messages('C8').length, 0);
    slack.rateLimit('*', 1, 1);
    const started = Date.now();
    const ok = await client(slack.botToken, { rejectRateLimitedCalls: false, retryConfig: { retries: 1, minTimeout: 0, maxTimeout: 0 } }).chat.postMessage({ channel: 'C8', text: 'y' });
    assert.equal(ok.ok, true);
    assert.ok(Date.now() - started >= 900, 'the client waited out Retry-After');
    assert.equal(slack.messages('C8').length, 1);
  });

  test('failFor: 503s and dropped connections, then recovery; reset-after loses only the answer', async () => {
    const web = client();
    slack.failFor(60_000, '503');
    const e503 = await web.chat.postMessage({ channel: 'C9', text: 'x' }).catch((x: unknown) => x);
    assert.ok(e503 instanceof WebAPIHTTPError && e503.statusCode === 503);
    slack.fail(false);
    assert.equal((await web.chat.postMessage({ channel: 'C9', text: 'a' })).ok, true);
    slack.failFor(300, 'reset');
    assert.ok((await web.chat.postMessage({ channel: 'C9', text: 'x' }).catch((x: unknown) => x)) instanceof WebAPIRequestError);
    await new Promise((r) => setTimeout(r, 350));
    assert.equal((await web.chat.postMessage({ channel: 'C9', text: 'b' })).ok, true);
    assert.deepEqual(slack.messages('C9').map((m) => m.text), ['a', 'b'], 'refused calls changed nothing');
    slack.failNext('chat.postMessage', 1, 'reset-after');
    assert.ok((await web.chat.postMessage({ channel: 'C9', text: 'c' }).catch((x: unknown) => x)) instanceof WebAPIRequestError);
    assert.deepEqual(slack.messages('C9').map((m) => m.text), ['a', 'b', 'c'], 'the post landed though its answer was lost');
  });

  test('response URLs: in_channel posts, ephemeral otherwise, five uses at most', async () => {
    const url = slack.responseUrl({ channel: 'C10', user: 'U5' });
    const post = (body: unknown) => fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    assert.equal((await post({ response_type: 'in_channel', text: 'for all' })).status, 200);
    for (let i = 0; i < 4; i++) assert.equal((await post({ text: `just you ${i}` })).status, 200);
    const sixth = await post({ text: 'again' });
    assert.equal(sixth.status, 404);
    assert.equal(await sixth.text(), 'used_url');
    assert.deepEqual(slack.messages('C10').map((m) => m.text), ['for all']);
    assert.equal(slack.ephemerals('C10', 'U5').length, 4);
    assert.equal(slack.responses.length, 6);
  });

  test('renderThread: Slack-like HTML with formatting decoded and escaped; served at /render', async () => {
    const root = slack.addMessage('C11', { user: 'U6', text: 'why does `a &lt; b` fail? &lt;script&gt;alert(1)&lt;/script&gt;' });
    const web = client();
    const { ts } = await web.chat.postMessage({ channel: 'C11', thread_ts: root, text: '*Fixed* _now_ see <https://example.com/pr/1|PR 1>\n```\nif (a &lt; b) {}\n```' });
    await web.chat.postMessage({ channel: 'C11', thread_ts: root, text: 'x', blocks: [{ type: 'context', elements: [{ type: 'mrkdwn', text: 'cost $0.02' }] }] });
    await web.reactions.add({ channel: 'C11', timestamp: ts as string, name: 'white_check_mark' });
    await web.files.uploadV2({ channel_id: 'C11', thread_ts: root, content: 'diff --git', filename: 'change.diff' });
    const html = slack.renderThread('C11', root);
    assert.ok(!html.includes('<script>'), 'message text cannot inject markup');
    assert.ok(html.includes('&lt;script&gt;alert(1)&lt;/script&gt;'));
    assert.ok(html.includes('<code>a &lt; b</code>'));
    assert.ok(html.includes('<b>Fixed</b>') && html.includes('<i>now</i>'));
    assert.ok(html.includes('<a href="https://example.com/pr/1">PR 1</a>'));
    assert.ok(html.includes('<pre class="code">if (a &lt; b) {}</pre>'));
    assert.ok(html.includes('class="context">cost $0.02'));
    assert.ok(html.includes('✅ <span class="rname">white_check_mark</span> <b>1</b>') && html.includes('change.diff') && html.includes('3 replies'));
    const res = await fetch(`${slack.url}/render?channel=C11&ts=${root}`);
    assert.equal(res.headers.get('content-type'), 'text/html; charset=utf-8');
    assert.equal(await res.text(), html);
  });

  test('slackSignature matches Slack\'s documented example and what Bolt verifies', () => {
    const body = 'token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c';
    assert.equal(slackSignature('8f742231b10e8888abcd99yyyzzz85a5', 1531420618, body), 'v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503');
    const h = signedHeaders('s3cret', '{"a":1}');
    const headers = { 'x-slack-signature': h['x-slack-signature']!, 'x-slack-request-timestamp': Number(h['x-slack-request-timestamp']) };
    assert.equal(isValidSlackRequest({ signingSecret: 's3cret', body: '{"a":1}', headers, logger: quiet }), true);
    assert.equal(isValidSlackRequest({ signingSecret: 'other', body: '{"a":1}', headers, logger: quiet }), false);
  });
});

describe('Socket Mode', () => {
  test('the real SocketModeClient connects, gets pinged, acks envelopes, and reconnects after a drop', async () => {
    const sm = new SocketModeClient({ appToken: slack.appToken, clientOptions: { slackApiUrl: slack.apiUrl }, clientPingTimeout: 600, logger: quiet });
    const seen: { type: string; retry_num?: number; body: Record<string, unknown> }[] = [];
    sm.on('slack_event', async ({ ack, type, body, retry_num }: { ack: (r?: Record<string, unknown>) => Promise<void>; type: string; body: Record<string, unknown>; retry_num?: number }) => {
      seen.push({ type, body, retry_num });
      if (type === 'slash_commands') await ack({ text: `got ${String(body.text)}` });
      else if (body.type !== 'ignore_me') await ack();
    });
    try {
      await sm.start();
      await slack.socketConnected();
      const opens = () => slack.calls.filter((c) => c.method === 'apps.connections.open' && c.ok).length;
      assert.equal(opens(), 1);
      const event = slack.eventPayload({ type: 'app_mention', user: 'U7', text: '<@U0STANDINBOT> hi', channel: 'C12', ts: '1764500000.000100' });
      const ack = await slack.sendEnvelope('events_api', event, { retryAttempt: 1 });
      assert.equal(ack.envelope_id, slack.envelopes.at(-1)?.envelope_id);
      assert.deepEqual([seen.at(-1)?.type, seen.at(-1)?.retry_num, (seen.at(-1)?.body.event as { text: string }).text], ['events_api', 1, '<@U0STANDINBOT> hi']);
      const cmd = await slack.sendEnvelope('slash_commands', slack.commandPayload({ command: '/cco', text: 'status', user_id: 'U7', channel_id: 'C12' }));
      assert.deepEqual(cmd.payload, { text: 'got status' });
      await assert.rejects(slack.sendEnvelope('interactive', { type: 'ignore_me' }, { timeoutMs: 200 }), /not acked within 200 ms/);
      const start = Date.now();
      while (slack.socketStats().pongsReceived === 0 && Date.now() - start < 3000) await new Promise((r) => setTimeout(r, 50));
      assert.ok(slack.socketStats().pongsReceived > 0, 'server pings are answered');

      // The client's own 'connected' (it has read hello), not just the server's side of it.
      const reconnected = () => new Promise((resolve) => sm.once('connected', resolve));
      let again = reconnected();
      slack.disconnectSocket();
      assert.equal(slack.socketStats().open, 0);
      await slack.socketConnected();
      await again;
      assert.equal(opens(), 2, 'the client reconnected through apps.connections.open');
      assert.equal((await slack.sendEnvelope('events_api', slack.eventPayload({ type: 'message', channel: 'D1', user: 'U7', text: 'dm', ts: '1764500000.000200' }))).envelope_id, slack.envelopes.at(-1)?.envelope_id);

      again = reconnected();
      slack.disconnectSocket({ graceful: true });
      await slack.socketConnected();
      await again;
      assert.equal(opens(), 3);
      assert.equal(slack.socketStats().connections, 3);
    } finally {
      await sm.disconnect();
    }
  });

  test('a Bolt App in Socket Mode (as the integration runs it): mention → reply in thread; command → respond', async () => {
    while (slack.socketStats().open > 0) await new Promise((r) => setTimeout(r, 20)); // the last test's socket is closing
    const app = new App({
      token: slack.botToken, appToken: slack.appToken, socketMode: true, logger: quiet,
      clientOptions: { slackApiUrl: slack.apiUrl }, installerOptions: { clientOptions: { slackApiUrl: slack.apiUrl } },
    });
    app.event('app_mention', async ({ event, say }) => {
      await say({ text: `on it <@${event.user}>`, thread_ts: event.thread_ts ?? event.ts });
    });
    app.command('/cco', async ({ ack, respond, command }) => {
      await ack();
      await respond({ text: `status: ${command.text}` });
    });
    await app.start();
    try {
      await slack.socketConnected();
      const until = Date.now() + 3000;
      const waitFor = async (ok: () => boolean) => {
        while (!ok() && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
      };
      const { ts } = await slack.userPosts('C13', { user: 'U8', text: '<@U0STANDINBOT> build it' });
      await waitFor(() => slack.thread('C13', ts).length === 2);
      await slack.userPosts('C13', { user: 'U8', text: '<@U0STANDINBOT> and test', thread_ts: ts });
      await waitFor(() => slack.thread('C13', ts).length === 4);
      assert.deepEqual(slack.thread('C13', ts).map((m) => [m.user, m.text]), [
        ['U8', '<@U0STANDINBOT> build it'], [slack.botUserId, 'on it <@U8>'], ['U8', '<@U0STANDINBOT> and test'], [slack.botUserId, 'on it <@U8>'],
      ]);
      await slack.sendEnvelope('slash_commands', slack.commandPayload({ command: '/cco', text: 'all', user_id: 'U8', channel_id: 'C13' }));
      await waitFor(() => slack.ephemerals('C13', 'U8').length > 0);
      assert.deepEqual(slack.ephemerals('C13', 'U8').map((e) => [e.text, e.via]), [['status: all', 'response_url']]);
    } finally {
      await app.stop();
    }
  });
});
