/**
 * Bolt's receiver for the HTTP mode, mounted in the server's own Fastify instance at
 * POST /slack/events (Bolt's default path: commands, events and interactions), instead of the
 * separate HTTP server Bolt's HTTPReceiver would open. It checks the request the way Slack asks
 * (v0 signature over the raw body, with Bolt's verifier) and, unlike Bolt, refuses timestamps
 * more than 5 minutes in the future as well as in the past; then hands the body to Bolt, which
 * runs the listeners. The answer goes out as soon as a listener acknowledges.
 */
import { ReceiverMultipleAckError, verifySlackRequest, type App, type Receiver } from '@slack/bolt';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AppError } from '../lib/errors.ts';
import type { Logger } from '../logger.ts';

export const SLACK_EVENTS_PATH = '/slack/events';
/** Slack shows the user an error when a request is not answered within 3 s. */
const ACK_DEADLINE_MS = 2800;
const MAX_SKEW_S = 300;

export class FastifySlackReceiver implements Receiver {
  #app: App | undefined;

  constructor(private readonly o: { signingSecret: string; logger: Logger }) {}

  init(app: App): void {
    this.#app = app;
  }

  async start(): Promise<void> {}
  async stop(): Promise<void> {}

  /** Registers the route (in its own context: Slack's bodies are kept raw for the signature). */
  async register(app: FastifyInstance): Promise<void> {
    await app.register(async (scope) => {
      scope.removeContentTypeParser(['application/json', 'application/x-www-form-urlencoded']);
      scope.addContentTypeParser(['application/json', 'application/x-www-form-urlencoded'], { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
      scope.post(SLACK_EVENTS_PATH, { config: { access: 'public' }, schema: { hide: true } }, (req, reply) => this.#handle(req, reply));
    });
  }

  async #handle(req: FastifyRequest, reply: FastifyReply): Promise<unknown> {
    const raw = Buffer.isBuffer(req.body) ? req.body.toString('utf8') : '';
    this.#verify(req, raw);
    const body = parseBody(req.headers['content-type'] ?? '', raw);
    if (body.ssl_check) return reply.code(200).send();
    if (body.type === 'url_verification') return { challenge: body.challenge };
    if (!this.#app) throw new AppError('unavailable', 'Slack is starting', 503);
    const retry = req.headers['x-slack-retry-num'];
    let answer!: (v: unknown) => void;
    const acked = new Promise<unknown>((resolve) => (answer = resolve));
    let done = false;
    const processing = this.#app.processEvent({
      body,
      retryNum: retry === undefined ? undefined : Number(retry),
      retryReason: headerText(req.headers['x-slack-retry-reason']),
      customProperties: {},
      ack: async (response?: unknown) => {
        if (done) throw new ReceiverMultipleAckError();
        done = true;
        answer(response);
      },
    });
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), ACK_DEADLINE_MS)));
    try {
      // Listeners that acknowledge nothing (an event no listener matched) end with an empty 200.
      const first = await Promise.race([acked, late, processing.then(() => (done ? acked : ''))]);
      if (first === 'late') {
        this.o.logger.warn({ type: body.type ?? body.command }, 'slack: no listener acknowledged in time');
        return reply.code(200).send();
      }
      return sendAck(reply, first);
    } catch (e: unknown) {
      this.o.logger.error({ err: e }, 'slack: processing the request failed before it was acknowledged');
      // A 5xx makes Slack retry an event; the retry is deduplicated by its id.
      throw new AppError('slack_processing_failed', 'the request could not be processed; Slack will retry', 503);
    } finally {
      clearTimeout(timer);
      processing.catch((e: unknown) => this.o.logger.error({ err: e }, 'slack: listener failed'));
    }
  }

  /** 401 unless signed with the signing secret within 5 minutes of now (either way). */
  #verify(req: FastifyRequest, raw: string): void {
    const ts = Number(headerText(req.headers['x-slack-request-timestamp']));
    const signature = headerText(req.headers['x-slack-signature']);
    if (!signature || !Number.isInteger(ts)) throw new AppError('invalid_signature', 'missing X-Slack-Signature or X-Slack-Request-Timestamp', 401);
    if (Math.abs(Date.now() / 1000 - ts) > MAX_SKEW_S) throw new AppError('invalid_signature', 'X-Slack-Request-Timestamp is more than 5 minutes away from now', 401);
    try {
      verifySlackRequest({ signingSecret: this.o.signingSecret, body: raw, headers: { 'x-slack-signature': signature, 'x-slack-request-timestamp': ts } });
    } catch {
      throw new AppError('invalid_signature', 'the request is not signed with this app\'s signing secret', 401);
    }
  }
}

function headerText(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

/** Events come as JSON; commands as a form; interactions as a form with a JSON `payload`. */
function parseBody(contentType: string, raw: string): Record<string, unknown> {
  try {
    if (contentType.startsWith('application/x-www-form-urlencoded')) {
      const form = Object.fromEntries(new URLSearchParams(raw));
      return typeof form.payload === 'string' ? (JSON.parse(form.payload) as Record<string, unknown>) : form;
    }
    const parsed: unknown = JSON.parse(raw);
    if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) return parsed as Record<string, unknown>;
  } catch {
    // falls through to the 400
  }
  throw new AppError('invalid_body', 'the body is not a Slack request', 400);
}

function sendAck(reply: FastifyReply, response: unknown): FastifyReply {
  if (response === undefined || response === '') return reply.code(200).send();
  if (typeof response === 'string') return reply.code(200).type('text/plain; charset=utf-8').send(response);
  return reply.code(200).type('application/json').send(JSON.stringify(response));
}
