/**
 * A local stand-in for Slack's Web API and Socket Mode, faithful enough for the official
 * @slack/web-api WebClient (`slackApiUrl: standin.apiUrl`) and @slack/socket-mode's client (as
 * Bolt's SocketModeReceiver uses it): it checks tokens and message limits as Slack does, answers
 * HTTP 200 `{ok:false,error}` for API errors, keeps channels/threads/files in memory for
 * assertions, records every call, and injects rate limits, outages and dropped connections on
 * demand. Pieces live in ./slack-standin/.
 */
import crypto from 'node:crypto';
import http from 'node:http';
import { parseCall, readBody, recordable, sendJson } from './slack-standin/http.ts';
import { checkToken, METHODS, type MethodContext } from './slack-standin/methods.ts';
import { channelType, commandPayload, eventCallback, type CommandArgs } from './slack-standin/payloads.ts';
import { renderThreadHtml } from './slack-standin/render.ts';
import { download, response, send, upload, type ResponseTarget, type RouteResult } from './slack-standin/routes.ts';
import { SocketModeServer, type EnvelopeAck, type EnvelopeType, type SendEnvelopeOptions, type SentEnvelope, type SocketStats } from './slack-standin/socket.ts';
import { SlackStore, textOf } from './slack-standin/store.ts';
import type { ApiResult, EphemeralMessage, FailMode, FaultKind, Identity, RecordedCall, RecordedResponse, SlackMessage } from './slack-standin/types.ts';

export { slackSignature, signedHeaders, type CommandArgs } from './slack-standin/payloads.ts';
export type { EnvelopeAck, EnvelopeType, SendEnvelopeOptions, SentEnvelope, SocketStats } from './slack-standin/socket.ts';
export type * from './slack-standin/types.ts';

export interface SlackStandinOptions {
  botToken: string;
  appToken?: string;
  teamId?: string;
  teamName?: string;
  botUserId?: string;
  botId?: string;
  botName?: string;
  appId?: string;
  /** Only channels made with addChannel exist (by default any C…, G… or D… id is accepted). */
  strictChannels?: boolean;
  /** How often Socket Mode connections get a server ping. */
  pingIntervalMs?: number;
}

export interface StandinFile {
  id: string;
  name: string;
  title: string;
  size: number;
  completed: boolean;
  bytes?: Buffer;
  content?: string;
}

interface FaultRule {
  method: string;
  remaining: number;
  kind: FaultKind;
  retryAfterS: number;
}

const FAULT_ERROR: Record<FaultKind, string> = { ratelimited: 'ratelimited', '503': 'service_unavailable', reset: 'connection_reset', 'reset-after': 'connection_reset' };

export class SlackStandin {
  readonly identity: Identity;
  /** Every HTTP call (Web API methods by name; `(upload)` and `(response_url)` for those URLs). */
  readonly calls: RecordedCall[] = [];
  /** Every POST to a response URL. */
  readonly responses: RecordedResponse[] = [];
  url = '';
  apiUrl = '';
  private readonly store: SlackStore;
  private readonly socket: SocketModeServer;
  private readonly server: http.Server;
  private rules: FaultRule[] = [];
  private failUntil = 0;
  private failMode: FailMode = '503';
  private readonly targets = new Map<string, ResponseTarget>();

  private constructor(opts: SlackStandinOptions) {
    this.identity = {
      botToken: opts.botToken, appToken: opts.appToken ?? 'xapp-1-A0STANDIN-standin', teamId: opts.teamId ?? 'T0STANDIN', teamName: opts.teamName ?? 'Stand-in Workspace',
      botUserId: opts.botUserId ?? 'U0STANDINBOT', botId: opts.botId ?? 'B0STANDIN', botName: opts.botName ?? 'orchestrator', appId: opts.appId ?? 'A0STANDIN',
    };
    this.store = new SlackStore(this.identity, opts.strictChannels ?? false, () => this.url);
    this.socket = new SocketModeServer(this.identity.appId, opts.pingIntervalMs ?? 10_000);
    this.server = http.createServer((req, res) => {
      void this.handle(req, res).catch((e: unknown) => {
        if (!res.headersSent) sendJson(res, 500, { ok: false, error: 'fatal_error', detail: String(e) });
      });
    });
    this.server.on('upgrade', (req, sock, head) => {
      const f = this.fault(undefined);
      if (f?.kind === 'reset' || f?.kind === 'reset-after') return void sock.destroy();
      if (f) return void sock.end('HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
      this.socket.handleUpgrade(req, sock, head, new URL(req.url ?? '/', this.url));
    });
  }

  static async start(opts: SlackStandinOptions): Promise<SlackStandin> {
    const s = new SlackStandin(opts);
    await new Promise<void>((resolve) => s.server.listen(0, '127.0.0.1', resolve));
    const { port } = s.server.address() as { port: number };
    s.url = `http://127.0.0.1:${port}`;
    s.apiUrl = `${s.url}/api/`;
    return s;
  }

  get botToken(): string { return this.identity.botToken; }
  get appToken(): string { return this.identity.appToken; }
  get teamId(): string { return this.identity.teamId; }
  get botUserId(): string { return this.identity.botUserId; }
  get botId(): string { return this.identity.botId; }

  // ---- workspace state ----
  addChannel(id: string, opts: { name?: string; isMember?: boolean } = {}): void {
    this.store.addChannel(id, opts);
  }
  addUser(id: string, opts: { name?: string; realName?: string } = {}): void {
    this.store.users.set(id, { id, name: opts.name ?? id.toLowerCase(), realName: opts.realName ?? opts.name ?? id, isBot: false });
  }
  /** A human's message (e.g. the @mention or DM the bot answers); returns its ts. */
  addMessage(channel: string, m: { user: string; text: string; thread_ts?: string; blocks?: unknown[] }): string {
    if (!this.store.channel(channel)) throw new Error(`unknown channel ${channel}`);
    this.store.user(m.user);
    let threadTs: string | undefined;
    if (m.thread_ts) {
      const root = this.store.find(channel, m.thread_ts);
      if (!root) throw new Error(`no message ${m.thread_ts} in ${channel}`);
      threadTs = root.thread_ts ?? root.ts;
    }
    const ts = this.store.nextTs();
    this.store.add({
      type: 'message', channel, ts, user: m.user, text: m.text, team: this.identity.teamId,
      ...(m.blocks ? { blocks: m.blocks } : {}), ...(threadTs ? { thread_ts: threadTs, parent_user_id: this.store.find(channel, threadTs)?.user } : {}),
    });
    return ts;
  }
  /** All messages of a channel, thread replies included, in posting order (metadata shown). */
  messages(channel: string): SlackMessage[] {
    return this.store.list(channel).map((m) => this.store.view(m, { metadata: true }));
  }
  /** The thread of ts (root first, then replies); [] when there is no such message. */
  thread(channel: string, ts: string): SlackMessage[] {
    const m = this.store.find(channel, ts);
    return m ? this.store.threadOf(m).map((x) => this.store.view(x, { metadata: true })) : [];
  }
  ephemerals(channel: string, user?: string): EphemeralMessage[] {
    return structuredClone(this.store.ephemeral.filter((e) => e.channel === channel && (user === undefined || e.user === user)));
  }
  file(id: string): StandinFile | undefined {
    const f = this.store.files.get(id);
    if (!f) return undefined;
    const content = f.bytes ? textOf(f.bytes) : undefined;
    return {
      id: f.id, name: f.name, title: f.title, size: f.bytes?.length ?? 0, completed: f.completed,
      ...(f.bytes ? { bytes: Buffer.from(f.bytes) } : {}), ...(content !== undefined ? { content } : {}),
    };
  }
  /** A response URL (as in a slash command or action payload); POSTs to it land in `responses`. */
  responseUrl(target: { channel?: string; user?: string } = {}): string {
    const rid = crypto.randomBytes(12).toString('hex');
    this.targets.set(rid, { ...target, created: Date.now(), uses: 0 });
    return `${this.url}/response/${rid}`;
  }
  renderThread(channel: string, ts: string, opts: { forUser?: string } = {}): string {
    return renderThreadHtml(this.store, this.identity, channel, ts, opts);
  }

  // ---- faults ----
  /** The next `times` calls of method ('*': any Web API method) get HTTP 429 with Retry-After. */
  rateLimit(method: string, times = 1, retryAfterS = 1): void {
    this.rules.push({ method, remaining: times, kind: 'ratelimited', retryAfterS });
  }
  /** The next `times` calls of method fail: 503, connection reset, or reset after taking effect. */
  failNext(method: string, times = 1, mode: FailMode = '503'): void {
    this.rules.push({ method, remaining: times, kind: mode, retryAfterS: 0 });
  }
  /** Every call for the next ms fails (HTTP 503, or the connection is destroyed with 'reset'). */
  failFor(ms: number, mode: FailMode = '503'): void {
    this.failUntil = Date.now() + ms;
    this.failMode = mode;
  }
  /** fail(true) fails every call until fail(false), which also ends a failFor window early. */
  fail(on: boolean, mode: FailMode = '503'): void {
    this.failUntil = on ? Number.POSITIVE_INFINITY : 0;
    this.failMode = mode;
  }

  private fault(method: string | undefined): { kind: FaultKind; retryAfterS: number } | undefined {
    if (Date.now() < this.failUntil) return { kind: this.failMode, retryAfterS: 0 };
    if (method === undefined) return undefined;
    const rule = this.rules.find((r) => r.remaining > 0 && (r.method === method || (r.method === '*' && !method.startsWith('('))));
    if (!rule) return undefined;
    rule.remaining -= 1;
    this.rules = this.rules.filter((r) => r.remaining > 0);
    return rule;
  }

  // ---- Socket Mode ----
  sendEnvelope(type: EnvelopeType, payload: Record<string, unknown>, opts: SendEnvelopeOptions = {}): Promise<EnvelopeAck> {
    return this.socket.sendEnvelope(type, payload, opts);
  }
  /** Every envelope sent, with the app's ack once it came. */
  get envelopes(): readonly SentEnvelope[] {
    return this.socket.envelopes;
  }
  socketConnected(timeoutMs?: number): Promise<void> {
    return this.socket.socketConnected(timeoutMs);
  }
  disconnectSocket(opts: { graceful?: boolean } = {}): void {
    this.socket.disconnect(opts);
  }
  socketStats(): SocketStats {
    return this.socket.stats();
  }
  /** The events_api payload Slack would send for event (type, user, text, channel, ts, …). */
  eventPayload(event: Record<string, unknown>, eventId?: string): Record<string, unknown> {
    return eventCallback(this.identity, event, eventId);
  }
  /** A slash command payload whose response_url leads back to this channel and user. */
  commandPayload(args: CommandArgs): Record<string, unknown> {
    return commandPayload(this.identity, args, this.responseUrl({ channel: args.channel_id, user: args.user_id }));
  }
  /** A human posts (addMessage) and Slack delivers the event: app_mention, or message (DMs, threads). */
  async userPosts(channel: string, m: { user: string; text: string; thread_ts?: string; event?: 'app_mention' | 'message' }): Promise<{ ts: string; ack: EnvelopeAck }> {
    const ts = this.addMessage(channel, m);
    const threadTs = this.store.find(channel, ts)?.thread_ts;
    const type = m.event ?? (channel.startsWith('D') ? 'message' : 'app_mention');
    const event = {
      type, user: m.user, text: m.text, ts, channel, team: this.identity.teamId, ...(threadTs ? { thread_ts: threadTs } : {}),
      ...(type === 'message' ? { channel_type: channelType(channel) } : {}),
    };
    return { ts, ack: await this.sendEnvelope('events_api', this.eventPayload(event)) };
  }

  // ---- HTTP ----
  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.url);
    if (req.method === 'GET' && url.pathname === '/render') {
      try {
        const html = this.renderThread(url.searchParams.get('channel') ?? '', url.searchParams.get('ts') ?? '', { forUser: url.searchParams.get('user') ?? undefined });
        return void res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(html);
      } catch (e) {
        return void res.writeHead(404, { 'content-type': 'text/plain' }).end(String(e));
      }
    }
    const dl = /^\/files\/([^/]+)\//.exec(url.pathname);
    if (req.method === 'GET' && dl) return download(this.store, this.identity, dl[1]!, req, res);
    const raw = await readBody(req);
    const api = /^\/api\/([A-Za-z0-9_.]+)$/.exec(url.pathname);
    if (api) return this.api(api[1]!, req, res, url, raw);
    const up = /^\/upload\/v1\/([a-f0-9]+)$/.exec(url.pathname);
    if (up && req.method === 'POST') return this.route('(upload)', req, res, () => upload(this.store, up[1]!, req, raw));
    const rs = /^\/response\/([a-f0-9]+)$/.exec(url.pathname);
    if (rs && req.method === 'POST') {
      return this.route('(response_url)', req, res, () => response(this.store, this.targets.get(rs[1]!), rs[1]!, url.href, raw, this.responses));
    }
    res.writeHead(404, { 'content-type': 'text/plain' }).end('Not Found');
  }

  /** Answers an injected fault that refuses the call; false when the call should go ahead. */
  private refused(method: string, params: Record<string, unknown>, f: { kind: FaultKind; retryAfterS: number } | undefined, req: http.IncomingMessage, res: http.ServerResponse): boolean {
    if (!f || f.kind === 'reset-after') return false;
    const status = f.kind === 'ratelimited' ? 429 : f.kind === '503' ? 503 : 0;
    this.calls.push({ method, params: recordable(params), status, ok: false, error: FAULT_ERROR[f.kind], fault: f.kind, at: Date.now() });
    if (f.kind === 'ratelimited') sendJson(res, 429, { ok: false, error: 'ratelimited' }, { 'retry-after': String(f.retryAfterS) });
    else if (f.kind === '503') res.writeHead(503, { 'content-type': 'text/plain' }).end('Service Unavailable');
    else req.socket.destroy();
    return true;
  }

  private api(method: string, req: http.IncomingMessage, res: http.ServerResponse, url: URL, raw: Buffer): void {
    const call = parseCall(req, url, raw);
    const f = this.fault(method);
    if (this.refused(method, call.params, f, req, res)) return;
    const spec = METHODS[method];
    const ctx: MethodContext = { id: this.identity, store: this.store, url: this.url, json: call.json, openSocket: () => this.socket.ticketUrl(this.url) };
    let result: ApiResult;
    if (!spec) result = { ok: false, error: 'unknown_method', req_method: method };
    else if (call.error) result = { ok: false, error: call.error };
    else result = checkToken(spec, call.token, ctx) ?? spec.run(call.params, ctx);
    const lost = f?.kind === 'reset-after';
    this.calls.push({
      method, params: recordable(call.params), status: lost ? 0 : 200, ok: result.ok, ...(result.error ? { error: result.error } : {}), ...(lost ? { fault: f.kind } : {}), at: Date.now(),
    });
    // 'reset-after': the call took effect but its answer is lost, the case a careful client must check for.
    if (lost) return void req.socket.destroy();
    sendJson(res, 200, result);
  }

  private route(method: string, req: http.IncomingMessage, res: http.ServerResponse, run: () => RouteResult): void {
    const f = this.fault(method);
    if (this.refused(method, {}, f, req, res)) return;
    const r = run();
    const lost = f?.kind === 'reset-after';
    this.calls.push({ method, params: r.params, status: lost ? 0 : r.status, ok: r.ok, ...(r.error ? { error: r.error } : {}), ...(lost ? { fault: f.kind } : {}), at: Date.now() });
    if (lost) return void req.socket.destroy();
    send(res, r);
  }

  /** Closes Socket Mode connections and the server promptly (open keep-alive connections too). */
  async stop(): Promise<void> {
    await this.socket.close();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
