/**
 * Server-Sent Events for the dashboard: one open HTTP response per browser tab,
 * fed by the EventBus. Each event is written with `id: <seq>`, so a browser that
 * reconnects sends Last-Event-ID and gets what it missed from the bus's ring
 * buffer; when that is no longer there it gets a `reset` event and refetches.
 *
 * Wire format (one block per event):
 *   id: 42 / event: message.created / data: {"seq":42,"type":"message.created",...}
 * Control events: `ready` (after the replay; data {seq, replayed}), `reset`
 * (data {seq}: the gap was too old) and `heartbeat` (data {seq}, no id).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { EventBus, OrchestratorEvent } from '../events/bus.ts';

export interface SseOptions {
  /** How often an idle stream gets a heartbeat (ms); proxies close silent connections. */
  heartbeatMs: number;
  /** A client this far behind (bytes queued in the socket) is dropped; it reconnects and replays. */
  maxBufferedBytes: number;
  /** Reconnect delay the browser is told to use (ms). */
  retryMs: number;
}

export const DEFAULT_SSE_OPTIONS: SseOptions = { heartbeatMs: 15_000, maxBufferedBytes: 4 * 1024 * 1024, retryMs: 1_000 };

export interface StreamRequest {
  /** Replay events after this seq (Last-Event-ID header, else ?since=). Undefined: live events only. */
  since: number | undefined;
  /** Only events of this session. */
  sessionId: string | undefined;
}

export class SseStreams {
  readonly #open = new Set<ServerResponse>();
  #closed = false;

  constructor(
    private readonly bus: EventBus,
    private readonly opts: SseOptions = DEFAULT_SSE_OPTIONS,
  ) {}

  get size(): number {
    return this.#open.size;
  }

  /** Takes over `res` until the client goes away or closeAll() runs. */
  open(req: IncomingMessage, res: ServerResponse, want: StreamRequest): void {
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      // Tells nginx-style proxies not to buffer the stream.
      'x-accel-buffering': 'no',
    });
    if (this.#closed) {
      res.end();
      return;
    }
    res.write(`retry: ${this.opts.retryMs}\n\n`);
    const wanted = (e: OrchestratorEvent) => want.sessionId === undefined || e.session_id === want.sessionId;
    const send = (e: OrchestratorEvent) => {
      if (!wanted(e) || res.writableEnded) return;
      res.write(`id: ${e.seq}\nevent: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`);
      if (res.writableLength > this.opts.maxBufferedBytes) res.destroy();
    };

    // since() and subscribe() run in the same tick, so no event can fall between
    // the replay and the live feed, and none is sent twice.
    const backlog = want.since === undefined ? [] : this.bus.since(want.since);
    const unsubscribe = this.bus.subscribe(send);
    const seq = this.bus.lastSeq;
    if (backlog === undefined) {
      res.write(`id: ${seq}\nevent: reset\ndata: ${JSON.stringify({ seq })}\n\n`);
    } else {
      for (const e of backlog) send(e);
    }
    res.write(`id: ${seq}\nevent: ready\ndata: ${JSON.stringify({ seq, replayed: backlog?.filter(wanted).length ?? 0, reset: backlog === undefined })}\n\n`);

    const heartbeat = setInterval(() => {
      if (!res.writableEnded) res.write(`event: heartbeat\ndata: ${JSON.stringify({ seq: this.bus.lastSeq })}\n\n`);
    }, this.opts.heartbeatMs);
    heartbeat.unref();

    this.#open.add(res);
    const cleanup = () => {
      clearInterval(heartbeat);
      unsubscribe();
      this.#open.delete(res);
    };
    req.on('close', cleanup);
    res.on('close', cleanup);
  }

  /** Ends every stream (server shutdown); the server's close() would otherwise wait on them forever. */
  closeAll(): void {
    this.#closed = true;
    for (const res of this.#open) res.end();
    this.#open.clear();
  }
}

/** Last-Event-ID wins over ?since=; both must be non-negative integers. */
export function parseSince(lastEventId: string | string[] | undefined, since: number | undefined): number | undefined {
  const header = Array.isArray(lastEventId) ? lastEventId[0] : lastEventId;
  if (header !== undefined && /^\d{1,15}$/.test(header.trim())) return Number(header.trim());
  return since;
}
