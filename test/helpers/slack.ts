/**
 * A server with the Slack app on, pointed at the Slack stand-in, and requests signed the way
 * Slack signs them, sent to the real endpoint (POST /slack/events).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../src/config.ts';
import { createLogger } from '../../src/logger.ts';
import { startServer, type Server } from '../../src/main.ts';
import { startModelServer, type ModelServer } from '../../src/model-server/server.ts';
import { claudeTestEnv } from './claude.ts';
import { createPgDatabase } from './db.ts';
import { signedHeaders, SlackStandin } from './slack-standin.ts';

export const SIGNING_SECRET = 'standin-signing-secret-0123456789';
export const BOT_TOKEN = 'xoxb-111-222-standinbottoken';
export const APP_TOKEN = 'xapp-1-A111-222-standinapptoken';

export interface SlackFixture {
  standin: SlackStandin;
  model: ModelServer;
  dbUrl: string;
  dir: string;
  /** The environment of a server on this fixture (cco serve takes the same). */
  env: Record<string, string>;
  start(extra?: Record<string, string>): Promise<Server>;
  cleanup(): Promise<void>;
}

export async function slackFixture(extra: Record<string, string> = {}): Promise<SlackFixture> {
  const standin = await SlackStandin.start({ botToken: BOT_TOKEN, appToken: APP_TOKEN, teamId: 'T0TEST' });
  const model = await startModelServer({ port: 0 });
  const db = await createPgDatabase();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cco-slack-'));
  const env: Record<string, string> = {
    ...(claudeTestEnv({ baseUrl: model.url, configDir: path.join(dir, 'claude') }) as Record<string, string>),
    DATABASE_URL: db.url,
    DATA_DIR: path.join(dir, 'data'),
    WORKSPACES_DIR: path.join(dir, 'ws'),
    PORT: '0',
    LOG_LEVEL: 'silent',
    AUTH: 'keys',
    PUBLIC_URL: 'https://cco.example.test',
    SLACK_BOT_TOKEN: BOT_TOKEN,
    SLACK_SIGNING_SECRET: SIGNING_SECRET,
    SLACK_API_URL: standin.apiUrl,
    RATE_LIMIT_PER_MIN: '0',
    ...extra,
  };
  const servers: Server[] = [];
  return {
    standin,
    model,
    dbUrl: db.url,
    dir,
    env,
    async start(more: Record<string, string> = {}) {
      const s = await startServer(loadConfig({ ...env, ...more }), createLogger(process.env.TEST_LOG_LEVEL ?? 'silent', { pretty: false }));
      servers.push(s);
      return s;
    },
    async cleanup() {
      await Promise.allSettled(servers.map((s) => s.stop()));
      await standin.stop();
      await model.close();
      await db.drop();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface SlackReply {
  status: number;
  text: string;
  json: Record<string, unknown> | undefined;
  ms: number;
}

/** POSTs a body to /slack/events, signed (unless `unsigned`), as Slack would. */
export async function sendToSlackEndpoint(
  url: string,
  body: string,
  opts: { form?: boolean; timestamp?: number; secret?: string; unsigned?: boolean; headers?: Record<string, string> } = {},
): Promise<SlackReply> {
  const contentType = opts.form ? 'application/x-www-form-urlencoded' : 'application/json';
  const headers = opts.unsigned ? { 'content-type': contentType } : signedHeaders(opts.secret ?? SIGNING_SECRET, body, { timestamp: opts.timestamp, contentType });
  const t0 = performance.now();
  const r = await fetch(`${url}/slack/events`, { method: 'POST', headers: { ...headers, ...opts.headers }, body });
  const text = await r.text();
  let json: Record<string, unknown> | undefined;
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    json = undefined;
  }
  return { status: r.status, text, json, ms: performance.now() - t0 };
}

/** A slash command as Slack sends it (form-encoded). */
export function commandBody(standin: SlackStandin, args: { text: string; user?: string; channel?: string; command?: string }): string {
  const payload = standin.commandPayload({ command: args.command ?? '/claude', text: args.text, user_id: args.user ?? 'U0ALICE', channel_id: args.channel ?? 'C0GENERAL' });
  return new URLSearchParams(Object.entries(payload).map(([k, v]) => [k, String(v)])).toString();
}

/**
 * A person's message (stored in the stand-in first, as Slack would) and its event body:
 * app_mention for a mention, message for DMs and thread replies.
 */
export function messageEvent(standin: SlackStandin, m: { channel: string; user: string; text: string; thread_ts?: string; type?: 'app_mention' | 'message'; extra?: Record<string, unknown> }): { ts: string; body: string; eventId: string } {
  const ts = standin.addMessage(m.channel, { user: m.user, text: m.text, thread_ts: m.thread_ts });
  const type = m.type ?? 'message';
  const event = {
    type, user: m.user, text: m.text, ts, channel: m.channel, team: standin.teamId,
    ...(m.thread_ts ? { thread_ts: m.thread_ts } : {}),
    ...(type === 'message' ? { channel_type: m.channel.startsWith('D') ? 'im' : 'channel' } : {}),
    ...m.extra,
  };
  const payload = standin.eventPayload(event);
  return { ts, body: JSON.stringify(payload), eventId: String(payload.event_id) };
}
