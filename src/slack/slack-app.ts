/**
 * The Slack app: Bolt (its listeners, its ack rules, its self-message filter) over our HTTP route
 * or Socket Mode, the inbound service, the thread follower and the outbox sender. Started by
 * processes that serve HTTP (roles all and api); every such process can take any event and send
 * any post, the database makes each happen once.
 */
import type { ApprovalService } from '../approvals/service.ts';
import { App, LogLevel, SocketModeReceiver, type AuthorizeResult, type Logger as BoltLogger, type Receiver } from '@slack/bolt';
import { WebClient } from '@slack/web-api';
import type { FastifyInstance } from 'fastify';
import type { AuditLog } from '../audit/audit-log.ts';
import type { AuthService } from '../auth/service.ts';
import type { Database } from '../db/database.ts';
import type { EventBus } from '../events/bus.ts';
import { AppError } from '../lib/errors.ts';
import type { Logger } from '../logger.ts';
import type { Metrics } from '../metrics/metrics.ts';
import type { SessionCommands } from '../runner/session-commands.ts';
import type { SessionService } from '../sessions/service.ts';
import type { SlackConfig } from './config.ts';
import { SlackFollower, type FollowerOptions } from './follower.ts';
import { FastifySlackReceiver } from './http-receiver.ts';
import { SlackOutbox, type OutboxOptions } from './outbox.ts';
import { SlackService, type Inbound } from './service.ts';

const REQUEST_TIMEOUT_MS = 10_000;
/** Answers to status/stop/config must fit Slack's 3 s. */
const QUICK_DEADLINE_MS = 2500;

export interface SlackAppDeps {
  config: SlackConfig;
  database: Database;
  events: EventBus;
  commands: SessionCommands;
  sessions: SessionService;
  auth: AuthService;
  authMode: 'keys' | 'off';
  audit: AuditLog;
  logger: Logger;
  /** Counts outbox posts (cco_slack_deliveries_total). */
  metrics?: Metrics | undefined;
  /** Approval decisions from the buttons in a thread (absent: the buttons answer that approvals are off). */
  approvals?: ApprovalService | undefined;
  /** Test timings. */
  outbox?: Partial<OutboxOptions> | undefined;
  follower?: Partial<Omit<FollowerOptions, 'fileThresholdChars' | 'publicUrl'>> | undefined;
}

export class SlackApp {
  readonly service: SlackService;
  readonly outbox: SlackOutbox;
  readonly follower: SlackFollower;
  readonly #bolt: App;
  readonly #http: FastifySlackReceiver | undefined;
  readonly #socket: SocketModeReceiver | undefined;
  readonly #client: WebClient;
  #identity: Promise<AuthorizeResult> | undefined;
  #started = false;

  constructor(private readonly deps: SlackAppDeps) {
    const c = deps.config;
    const log = deps.logger.child({ component: 'slack' });
    // The outbox decides about retries (and 429s) itself: the client only reports them.
    this.#client = new WebClient(c.botToken, { slackApiUrl: c.apiUrl, rejectRateLimitedCalls: true, retryConfig: { retries: 0 }, timeout: REQUEST_TIMEOUT_MS, logger: boltLogger(log), logLevel: LogLevel.ERROR });
    const onQueued = () => this.outbox.kick();
    this.outbox = new SlackOutbox({ database: deps.database, client: this.#client, logger: log, metrics: deps.metrics }, deps.outbox);
    this.follower = new SlackFollower({ database: deps.database, events: deps.events, logger: log, onQueued }, { debounceMs: 25, sweepMs: 10_000, ...deps.follower, fileThresholdChars: c.fileThresholdChars, publicUrl: c.publicUrl });
    this.service = new SlackService({ database: deps.database, commands: deps.commands, sessions: deps.sessions, auth: deps.auth, authMode: deps.authMode, audit: deps.audit, config: c, logger: log, onQueued, approvals: deps.approvals });
    let receiver: Receiver;
    if (c.appToken) {
      this.#socket = new SocketModeReceiver({ appToken: c.appToken, logger: boltLogger(log), installerOptions: { clientOptions: { slackApiUrl: c.apiUrl } } });
      receiver = this.#socket;
    } else {
      this.#http = new FastifySlackReceiver({ signingSecret: c.signingSecret!, logger: log });
      receiver = this.#http;
    }
    this.#bolt = new App({ receiver, authorize: () => this.#authorize(), clientOptions: { slackApiUrl: c.apiUrl }, logger: boltLogger(log), logLevel: LogLevel.WARN });
    this.#listen(log);
  }

  /** HTTP mode: mounts POST /slack/events on the server (before it listens). */
  async registerRoutes(app: FastifyInstance): Promise<void> {
    await this.#http?.register(app);
  }

  async start(): Promise<void> {
    if (this.#started) return;
    this.#started = true;
    this.outbox.start();
    this.follower.start();
    this.service.start();
    if (this.#socket) await this.#bolt.start();
    // Posts queued while no process was running go out now; threads catch up with what happened.
    void this.follower.sweep();
  }

  async stop(): Promise<void> {
    if (!this.#started) return;
    this.#started = false;
    if (this.#socket) await this.#bolt.stop().catch(() => {});
    await this.service.stop();
    await this.follower.stop();
    await this.outbox.stop();
  }

  /** The bot's identity, asked of Slack once (auth.test) and kept; asked again after a failure. */
  #authorize(): Promise<AuthorizeResult> {
    this.#identity ??= this.#client.auth.test().then(
      (r) => ({ botToken: this.deps.config.botToken, botId: r.bot_id as string | undefined, botUserId: r.user_id, teamId: r.team_id }),
      (e: unknown) => {
        this.#identity = undefined;
        throw e;
      },
    );
    return this.#identity;
  }

  #listen(log: Logger): void {
    const s = this.service;
    this.#bolt.command(/.*/, async ({ command, ack }) => {
      const who = { team: command.team_id, channel: command.channel_id, user: command.user_id };
      if (!s.allowed(who)) return ack({ response_type: 'ephemeral', text: ':no_entry: This workspace, channel or user is not allowed to use Claude Code here.' });
      try {
        const quick = await withDeadline(s.quickCommand({ ...who, text: command.text }), QUICK_DEADLINE_MS);
        if (quick !== undefined) return await ack({ response_type: 'ephemeral', text: quick });
        await s.accept(`command:${command.trigger_id}`, { type: 'command', ...who, text: command.text });
        await ack();
      } catch (e: unknown) {
        if (!(e instanceof AppError)) log.error({ err: e }, 'slack command failed');
        await ack({ response_type: 'ephemeral', text: `:warning: ${e instanceof AppError ? e.message : 'The orchestrator could not take this request; try again in a moment.'}` });
      }
    });
    const onMessage = async (e: MessageLike, team: string | undefined, mentioned: boolean, botUserId: string | undefined) => {
      // Other bots (and our own posts: Bolt's ignoreSelf drops most) are never taken as requests.
      if (e.bot_id || (e.subtype !== undefined && e.subtype !== 'file_share' && e.subtype !== 'thread_broadcast') || !e.user || !e.ts) return;
      const teamId = e.team ?? team ?? '';
      const text = e.text ?? '';
      const mention = botUserId === undefined ? undefined : new RegExp(`<@${botUserId}(\\|[^>]*)?>`, 'g');
      const inbound: Inbound = {
        type: 'message', team: teamId, channel: e.channel, channelType: e.channel_type ?? '', user: e.user, ts: e.ts, threadTs: e.thread_ts,
        // The bot's own mention is how people address it, not part of what they ask.
        text: mention ? text.replace(mention, ' ').replace(/ {2,}/g, ' ').trim() : text,
        mentioned: mentioned || (mention !== undefined && mention.test(text)),
      };
      // Only what can concern the bot is kept: direct messages, mentions and thread replies.
      if (!inbound.mentioned && inbound.channelType !== 'im' && !inbound.threadTs) return;
      if (!s.allowed({ team: teamId, channel: e.channel, user: e.user })) {
        log.info({ team: teamId, channel: e.channel, user: e.user }, 'slack: message from a team, channel or user not allowed; ignored');
        return;
      }
      // One key per Slack message: an app_mention and its message event, and their retries, are one request.
      await s.accept(`message:${e.channel}:${e.ts}`, inbound);
    };
    this.#bolt.event('app_mention', async ({ event, body, context }) => onMessage(event as MessageLike, body.team_id, true, context.botUserId));
    this.#bolt.event('message', async ({ event, body, context }) => onMessage(event as MessageLike, body.team_id, false, context.botUserId));
    // Approval buttons (signed interaction payloads, checked by the receiver like every request).
    this.#bolt.action(/^cco_approval_/, async ({ ack, body, action }) => {
      await ack();
      const b = body as { user?: { id?: string }; team?: { id?: string } | null; channel?: { id?: string }; message?: { ts?: string; thread_ts?: string } };
      const user = b.user?.id;
      const channel = b.channel?.id;
      const value = (action as { value?: string }).value;
      if (!user || !channel || !value) return;
      if (!s.allowed({ team: b.team?.id ?? '', channel, user })) return;
      await s.decideApproval({ user, channel, threadTs: b.message?.thread_ts ?? b.message?.ts, approvalId: value, actionId: (action as { action_id: string }).action_id });
    });
    this.#bolt.error(async (e) => {
      log.error({ err: e }, 'slack: listener error');
    });
  }
}

interface MessageLike {
  type: string;
  subtype?: string | undefined;
  bot_id?: string | undefined;
  user?: string | undefined;
  team?: string | undefined;
  channel: string;
  channel_type?: string | undefined;
  text?: string | undefined;
  ts?: string | undefined;
  thread_ts?: string | undefined;
}

function withDeadline<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new AppError('slow', 'The orchestrator is slow to answer; try again in a moment.', 503)), ms)));
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

/** Bolt's and the Web API client's log lines, into pino. */
function boltLogger(log: Logger): BoltLogger {
  let level = LogLevel.WARN;
  const line = (args: unknown[]) => args.map((a) => (a instanceof Error ? a.message : typeof a === 'string' ? a : JSON.stringify(a))).join(' ');
  return {
    debug: (...m: unknown[]) => log.debug(line(m)),
    info: (...m: unknown[]) => log.info(line(m)),
    warn: (...m: unknown[]) => log.warn(line(m)),
    error: (...m: unknown[]) => log.error(line(m)),
    setLevel: (l: LogLevel) => {
      level = l;
    },
    getLevel: () => level,
    setName: () => {},
  };
}
