/**
 * Socket Mode for the Slack stand-in: apps.connections.open hands out single-use ticket URLs;
 * a connection gets Slack's `hello`, server pings, and envelopes that the app must ack with
 * `{envelope_id, payload?}`.
 */
import crypto from 'node:crypto';
import type http from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer } from 'ws';

export type EnvelopeType = 'events_api' | 'slash_commands' | 'interactive';

export interface EnvelopeAck {
  envelope_id: string;
  payload?: Record<string, unknown>;
}

export interface SentEnvelope {
  envelope_id: string;
  type: EnvelopeType;
  payload: Record<string, unknown>;
  accepts_response_payload: boolean;
  retry_attempt: number;
  retry_reason: string;
  sentAt: number;
  ack?: EnvelopeAck;
  ackedAt?: number;
}

export interface SendEnvelopeOptions {
  retryAttempt?: number;
  retryReason?: string;
  /** Slack sets it for slash commands and view submissions; override for odd cases. */
  acceptsResponsePayload?: boolean;
  /** How long to wait for the ack (Slack's own limit is 3 s). */
  timeoutMs?: number;
}

export interface SocketStats {
  /** Connections accepted since start. */
  connections: number;
  /** Connections open now (not counting ones being told to go away). */
  open: number;
  pingsSent: number;
  pongsReceived: number;
}

interface Pending {
  resolve(a: EnvelopeAck): void;
  reject(e: Error): void;
  timer: NodeJS.Timeout;
}

export class SocketModeServer {
  private readonly wss = new WebSocketServer({ noServer: true });
  private readonly tickets = new Set<string>();
  private open: WebSocket[] = [];
  private readonly pending = new Map<string, Pending>();
  private waiters: (() => void)[] = [];
  readonly envelopes: SentEnvelope[] = [];
  private readonly counts = { connections: 0, pingsSent: 0, pongsReceived: 0 };

  constructor(
    private readonly appId: string,
    private readonly pingIntervalMs: number,
  ) {}

  /** A fresh single-use connection URL, as apps.connections.open returns. */
  ticketUrl(httpBase: string): string {
    const ticket = crypto.randomUUID();
    this.tickets.add(ticket);
    return `${httpBase.replace(/^http/, 'ws')}/link/?ticket=${ticket}&app_id=${this.appId}`;
  }

  handleUpgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer, url: URL): void {
    const ticket = url.searchParams.get('ticket') ?? '';
    if (url.pathname !== '/link/' || !this.tickets.delete(ticket)) {
      socket.end('HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
      return;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => this.onConnection(ws));
  }

  private onConnection(ws: WebSocket): void {
    this.counts.connections += 1;
    this.open.push(ws);
    const ping = setInterval(() => {
      if (ws.readyState !== WebSocket.OPEN) return;
      ws.ping();
      this.counts.pingsSent += 1;
    }, this.pingIntervalMs);
    ws.on('pong', () => (this.counts.pongsReceived += 1));
    ws.on('message', (data, isBinary) => {
      if (isBinary) return;
      let msg: unknown;
      try {
        msg = JSON.parse(String(data));
      } catch {
        return;
      }
      const id = (msg as { envelope_id?: unknown }).envelope_id;
      const p = typeof id === 'string' ? this.pending.get(id) : undefined;
      if (!p || typeof id !== 'string') return;
      this.pending.delete(id);
      clearTimeout(p.timer);
      const payload = (msg as { payload?: unknown }).payload;
      const ack: EnvelopeAck = { envelope_id: id, ...(payload && typeof payload === 'object' ? { payload: payload as Record<string, unknown> } : {}) };
      const rec = this.envelopes.find((e) => e.envelope_id === id);
      if (rec) Object.assign(rec, { ack, ackedAt: Date.now() });
      p.resolve(ack);
    });
    ws.on('close', () => {
      clearInterval(ping);
      this.open = this.open.filter((x) => x !== ws);
    });
    ws.on('error', () => {});
    ws.send(JSON.stringify({
      type: 'hello',
      num_connections: this.open.length,
      debug_info: { host: 'applink-standin', build_number: 1, approximate_connection_time: 18060 },
      connection_info: { app_id: this.appId },
    }));
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  /** Resolves once a connection is open and has been sent `hello` (at once if one is). */
  socketConnected(timeoutMs = 15_000): Promise<void> {
    if (this.open.length) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== done);
        reject(new Error(`no Socket Mode connection within ${timeoutMs} ms`));
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        resolve();
      };
      this.waiters.push(done);
    });
  }

  sendEnvelope(type: EnvelopeType, payload: Record<string, unknown>, opts: SendEnvelopeOptions = {}): Promise<EnvelopeAck> {
    // Slack delivers each envelope over one of the app's connections; the newest is as good as any.
    const ws = this.open[this.open.length - 1];
    if (!ws) return Promise.reject(new Error('no Socket Mode connection is open'));
    const envelope = {
      envelope_id: crypto.randomUUID(),
      type,
      payload,
      accepts_response_payload:
        opts.acceptsResponsePayload ?? (type === 'slash_commands' || (type === 'interactive' && ['view_submission', 'block_suggestion'].includes(String(payload.type)))),
      retry_attempt: opts.retryAttempt ?? 0,
      retry_reason: opts.retryReason ?? (opts.retryAttempt ? 'timeout' : ''),
    };
    this.envelopes.push({ ...envelope, sentAt: Date.now() });
    const timeoutMs = opts.timeoutMs ?? 3000;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(envelope.envelope_id);
        reject(new Error(`envelope ${envelope.envelope_id} (${type}) was not acked within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(envelope.envelope_id, { resolve, reject, timer });
      ws.send(JSON.stringify(envelope));
    });
  }

  /**
   * Drops the open connections. Abrupt by default (the TCP connection dies, as when a Slack
   * host goes away); `graceful` sends Slack's `disconnect` message and lets the client close.
   */
  disconnect(opts: { graceful?: boolean } = {}): void {
    const dropping = this.open;
    this.open = [];
    for (const ws of dropping) {
      if (!opts.graceful) ws.terminate();
      else {
        ws.send(JSON.stringify({ type: 'disconnect', reason: 'refresh_requested', debug_info: { host: 'applink-standin' } }));
        setTimeout(() => ws.terminate(), 2000).unref();
      }
    }
  }

  stats(): SocketStats {
    return { ...this.counts, open: this.open.length };
  }

  async close(): Promise<void> {
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(new Error('Slack stand-in stopped'));
    }
    this.pending.clear();
    this.open = [];
    // A close frame first: a client in the middle of its own close handshake (Bolt's app.stop()
    // does not wait for it) otherwise errors and leaves a 30 s timer running. Stragglers are cut.
    const closing = [...this.wss.clients].map((ws) => new Promise<void>((resolve) => {
      if (ws.readyState === WebSocket.CLOSED) return resolve();
      ws.once('close', () => resolve());
      ws.close(1001, 'server shutting down');
    }));
    await Promise.race([Promise.all(closing), new Promise((r) => setTimeout(r, 1000).unref())]);
    for (const ws of this.wss.clients) ws.terminate();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
  }
}
