/**
 * Servers for the webhook tests: real `startServer` processes-in-process (HTTP, keys, the
 * scripted model, real Claude Code) over one fresh database, a local receiver, and a small
 * client that calls the API with a key.
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
import { WebhookReceiver } from './webhook-receiver.ts';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

export interface WebhookFixture {
  receiver: WebhookReceiver;
  model: ModelServer;
  dbUrl: string;
  dir: string;
  env: Record<string, string>;
  start(extra?: Record<string, string>): Promise<Server>;
  cleanup(): Promise<void>;
}

export async function webhookFixture(extra: Record<string, string> = {}): Promise<WebhookFixture> {
  const receiver = await WebhookReceiver.start();
  const model = await startModelServer({ port: 0 });
  const db = await createPgDatabase();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cco-webhooks-'));
  const env: Record<string, string> = {
    ...(claudeTestEnv({ baseUrl: model.url, configDir: path.join(dir, 'claude') }) as Record<string, string>),
    DATABASE_URL: db.url,
    DATA_DIR: path.join(dir, 'data'),
    WORKSPACES_DIR: path.join(dir, 'ws'),
    PORT: '0',
    LOG_LEVEL: 'silent',
    AUTH: 'keys',
    PUBLIC_URL: 'https://cco.example.test',
    RATE_LIMIT_PER_MIN: '0',
    // The receiver is on loopback, which webhooks refuse unless listed.
    WEBHOOK_ALLOW_PRIVATE_HOSTS: '127.0.0.1',
    WEBHOOK_TIMEOUT_MS: '2000',
    ...extra,
  };
  const servers: Server[] = [];
  return {
    receiver,
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
      await receiver.stop();
      await model.close();
      await db.drop();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface Reply {
  status: number;
  body: Json;
}

/** Calls the API with a key (none: AUTH=off servers). */
export function client(url: string, key?: string) {
  return async (method: string, p: string, body?: unknown): Promise<Reply> => {
    const headers: Record<string, string> = {};
    if (key) headers.authorization = `Bearer ${key}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    const r = await fetch(`${url}${p}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await r.text();
    return { status: r.status, body: text ? (JSON.parse(text) as Json) : {} };
  };
}

export const ALL_EVENTS = ['session.created', 'turn.started', 'turn.completed', 'turn.failed', 'session.status_changed', 'session.completed'];
