/**
 * The scripted model server: a small local implementation of the Anthropic
 * Messages API (streaming and not) on which the real Claude Code binary runs
 * scripted scenarios. See scripts.ts for the prompt syntax.
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { decideReply, turnIdOf, type MessagesRequest } from './conversation.ts';
import { estimateTokens, sendError, sendJson, sendMessageJson, sendMessageStream, usageFor } from './responses.ts';

export interface RecordedRequest {
  method: string;
  path: string;
  /** Headers as received, minus credentials (x-api-key, authorization). */
  headers: Record<string, string | string[] | undefined>;
  /** Parsed JSON body, or undefined when there was none or it was not JSON. */
  body: unknown;
  /** What the server answered with, e.g. "bash#1", "plain", "auxiliary", "count_tokens". */
  reply: string;
  at: Date;
}

export interface ModelServerOptions {
  host?: string;
  /** 0 (the default) picks any free port. */
  port?: number;
  logger?: Pick<Logger, 'info' | 'warn' | 'debug'>;
  /** Keep every request in `requests` (default true). Long runs (chaos, soak) turn it off: bodies are large. */
  record?: boolean;
}

/** Main-loop requests of one `TURN_ID:<id>` turn: `starts` counts those at step 0 (a turn that began). */
export interface TurnCount {
  starts: number;
  requests: number;
}

/** The path that answers the turn counts as JSON ({ [id]: TurnCount }), for a model server in another process. */
export const TURN_COUNTS_PATH = '/v1/scripted/turns';

export interface ModelServer {
  /** Base URL to give Claude Code as ANTHROPIC_BASE_URL, e.g. http://127.0.0.1:4100 */
  url: string;
  /** Every request received, in order (mutated as requests arrive). */
  requests: RecordedRequest[];
  /** Requests per turn id (prompts carrying TURN_ID:<id>), kept whether or not `record` is on. */
  turnCounts: Map<string, TurnCount>;
  close(): Promise<void>;
}

const MAX_BODY_BYTES = 64 * 1024 * 1024;
const SECRET_HEADERS = new Set(['x-api-key', 'authorization']);

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY_BYTES) {
        reject(new Error('request body too large'));
        req.destroy();
        return;
      }
      parts.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(parts).toString('utf8')));
    req.on('error', reject);
  });
}

export async function startModelServer(opts: ModelServerOptions = {}): Promise<ModelServer> {
  const requests: RecordedRequest[] = [];
  const turnCounts = new Map<string, TurnCount>();
  const keep = opts.record !== false;
  const timers = new Set<NodeJS.Timeout>();
  const log = opts.logger;

  const wait = (ms: number, res: ServerResponse) =>
    new Promise<boolean>((resolve) => {
      if (ms <= 0) return resolve(true);
      const t = setTimeout(() => {
        timers.delete(t);
        resolve(!res.destroyed);
      }, ms);
      timers.add(t);
      // A client that gives up (interrupt, timeout) must not keep the timer alive.
      res.on('close', () => {
        clearTimeout(t);
        timers.delete(t);
        resolve(false);
      });
    });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0] as string;
    const raw = await readBody(req);
    let body: unknown;
    try {
      body = raw ? JSON.parse(raw) : undefined;
    } catch {
      body = undefined;
    }
    const headers = Object.fromEntries(Object.entries(req.headers).filter(([k]) => !SECRET_HEADERS.has(k)));
    const record: RecordedRequest = { method: req.method ?? 'GET', path, headers, body, reply: '', at: new Date() };
    if (keep) requests.push(record);

    if (req.method === 'POST' && path === '/v1/messages/count_tokens') {
      record.reply = 'count_tokens';
      return sendJson(res, 200, { input_tokens: estimateTokens(raw.length) });
    }
    if (req.method === 'POST' && path === '/v1/messages') {
      if (!body || typeof body !== 'object') {
        record.reply = 'bad-json';
        return sendError(res, 400, 'invalid_request_error', 'request body must be a JSON object');
      }
      const reqBody = body as MessagesRequest;
      const turn = turnIdOf(reqBody);
      if (turn) {
        const count = turnCounts.get(turn.id) ?? { starts: 0, requests: 0 };
        count.requests += 1;
        if (turn.step === 0) count.starts += 1;
        turnCounts.set(turn.id, count);
      }
      const reply = decideReply(reqBody);
      record.reply = reply.label;
      log?.debug({ path, reply: reply.label }, 'model server request');
      if (!(await wait(reply.delayMs, res))) return;
      if (reply.kind === 'error') return sendError(res, reply.status, reply.type, reply.message);
      const message = {
        model: typeof reqBody.model === 'string' ? reqBody.model : 'claude-scripted',
        content: reply.content,
        stopReason: reply.stopReason,
        usage: usageFor(raw.length, reply.content),
      };
      return reqBody.stream === true ? sendMessageStream(res, message) : sendMessageJson(res, message);
    }
    // Claude Code probes connectivity with HEAD /api/hello unless nonessential traffic is off.
    if (req.method === 'HEAD') {
      record.reply = 'head';
      res.writeHead(200).end();
      return;
    }
    if (req.method === 'GET' && path === TURN_COUNTS_PATH) {
      record.reply = 'turn-counts';
      return sendJson(res, 200, Object.fromEntries(turnCounts));
    }
    if (req.method === 'GET' && (path === '/' || path === '/health' || path === '/api/hello')) {
      record.reply = 'health';
      return sendJson(res, 200, { ok: true, service: 'scripted-model-server' });
    }
    record.reply = 'not-found';
    log?.warn({ method: req.method, path }, 'model server: unknown endpoint');
    return sendError(res, 404, 'not_found_error', `no such endpoint: ${req.method} ${path}`);
  }

  const server = http.createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      log?.warn({ err: e }, 'model server: request failed');
      if (!res.headersSent) sendError(res, 400, 'invalid_request_error', (e as Error).message);
      else res.destroy();
    });
  });
  server.keepAliveTimeout = 5_000;

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address() as AddressInfo;
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  const url = `http://${host}:${addr.port}`;
  log?.info({ url }, 'model server listening');

  let closing: Promise<void> | undefined;
  return {
    url,
    requests,
    turnCounts,
    close() {
      closing ??= new Promise<void>((resolve) => {
        for (const t of timers) clearTimeout(t);
        timers.clear();
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}
