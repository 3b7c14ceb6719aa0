/** slack/manifest.yml and slack/manifest.socket-mode.yml ask Slack for what the app uses, and nothing sends Slack elsewhere. */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { test } from 'node:test';
import { parse } from 'yaml';
import { SLACK_EVENTS_PATH } from '../src/slack/http-receiver.ts';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
const load = (f: string) => parse(fs.readFileSync(f, 'utf8')) as Json;

/** Web API methods the outbox and Bolt call, and the scopes Slack wants for them. */
const NEEDED_SCOPES = ['chat:write', 'commands', 'app_mentions:read', 'files:write', 'channels:history', 'groups:history', 'im:history'];
/** Events the listeners take (src/slack/slack-app.ts): mentions, channel threads, private channels, DMs. */
const NEEDED_EVENTS = ['app_mention', 'message.channels', 'message.groups', 'message.im'];

for (const [file, socket] of [['slack/manifest.yml', false], ['slack/manifest.socket-mode.yml', true]] as const) {
  test(`${file}: commands, scopes, events and interactivity for ${socket ? 'Socket Mode' : 'HTTP'}`, () => {
    const m = load(file);
    const cmd = (m.features.slash_commands as Json[]).find((c) => c.command === '/claude');
    assert.ok(cmd, '/claude is declared');
    assert.ok(m.features.bot_user.display_name);
    for (const s of NEEDED_SCOPES) assert.ok(m.oauth_config.scopes.bot.includes(s), `scope ${s}`);
    for (const e of NEEDED_EVENTS) assert.ok(m.settings.event_subscriptions.bot_events.includes(e), `event ${e}`);
    assert.equal(m.settings.interactivity.is_enabled, true);
    assert.equal(m.settings.socket_mode_enabled, socket);
    const urls = [cmd.url, m.settings.event_subscriptions.request_url, m.settings.interactivity.request_url];
    if (socket) assert.deepEqual(urls, [undefined, undefined, undefined], 'Socket Mode needs no public URL');
    else for (const u of urls) assert.equal(new URL(u).pathname, SLACK_EVENTS_PATH);
  });
}
