/**
 * Server-Sent Events for the dashboard: one open HTTP response per browser tab,
 * fed by the EventBus. Each event is written with `id: <position>` (`<xid>.<seq>`,
 * the same in every server process and across restarts), so a browser that
 * reconnects, to this process or another, sends Last-Event-ID and gets what it
 * missed: from the bus's memory when it still holds it, else from the live_events
 * table. When that is gone too (pruned, or an id of an older format), it gets a
 * `reset` event and refetches.
 *
 * Wire format (one block per event):
 *   id: 7432.1201 / event: message.created / data: {"type":"message.created","session_id":...}
 * Control events: `ready` (once the replay is written; data {id, replayed, reset}),
 * `reset` (data {id}: refetch everything) and `heartbeat` (data {id}, no SSE id).
 *
 * Memory per stream is bounded: a stream does not queue events, it keeps a
 * cursor (the position it last wrote) and reads, from the bus's memory or from
 * the table, in pieces of about `chunkBytes`, writing the next piece only after
 * the socket drained. A replay of any size therefore goes out piece by piece,
 * and a client that stops reading costs at most one piece until it is dropped
 * after `slowClientTimeoutMs`.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { IN_LOG, type EventBus, type OrchestratorEvent, type StoredEvent } from '../events/bus.ts';
import { comparePositions, isAfter, type Position } from '../events/position.ts';

export interface SseOptions {
  /** How often an idle stream gets a heartbeat (ms); proxies close silent connections. */
  heartbeatMs: number;
  /** Bytes of events written at once; the next piece waits for the socket to drain. */
  chunkBytes: number;
  /** A stream whose socket has not drained for this long is dropped (ms); the client reconnects. */
  slowClientTimeoutMs: number;
  /** Open streams at most; more are answered 503 with Retry-After. */
  maxStreams: number;
  /** Reconnect delay the browser is told to use (ms). */
  retryMs: number;
}

export const DEFAULT_SSE_OPTIONS: SseOptions = { heartbeatMs: 15_000, chunkBytes: 64 * 1024, slowClientTimeoutMs: 30_000, maxStreams: 500, retryMs: 1_000 };

export interface StreamRequest {
  /** Replay events after this position (Last-Event-ID header, else ?since=). Undefined: live events only. */
  since: string | undefined;
  /** Only events of this session. */
  sessionId: string | undefined;
  /** Only events of sessions this owner has (a user's stream); undefined: every session. */
  owner?: string | undefined;
}

/** Owners of sessions, for streams limited to one owner (src/auth/session-access.ts). */
export interface OwnerLookup {
  cachedOwner(sessionId: string): string | null | undefined;
  load(sessionId: string): Promise<void>;
}

const frame = (s: StoredEvent) => `id: ${s.id}\nevent: ${s.type}\ndata: ${s.json}\n\n`;

/** One open response: a cursor into the event stream and the socket's drain state. */
class Stream {
  #cursor: Position;
  #readyAt: Position | undefined;
  #replayed = 0;
  #reset = false;
  #waiting = false;
  /** A piece of the replay is being read from the table. */
  #loading = false;
  /** An event whose session's owner could not be found: not shown to an owner-limited stream. */
  #unresolvable: string | undefined;
  #stallTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    readonly res: ServerResponse,
    private readonly bus: EventBus,
    private readonly opts: SseOptions,
    private readonly sessionId: string | undefined,
    since: string | undefined,
    private readonly owner?: { name: string; lookup: OwnerLookup } | undefined,
  ) {
    const from = since === undefined ? bus.lastPosition : bus.resume(since);
    this.#cursor = from ?? bus.lastPosition;
    this.#readyAt = bus.lastPosition;
    if (from === undefined) this.#resetFrame();
  }

  /** Writes what the client has not had yet, a piece at a time, until caught up or the socket is full. */
  pump(): void {
    while (!this.#waiting && !this.#loading && !this.res.writableEnded && !this.res.destroyed) {
      const batch = this.bus.read(this.#cursor, this.opts.chunkBytes);
      if (batch === IN_LOG) {
        this.#readLog();
        return;
      }
      if (!this.#send(batch)) return;
      if (batch !== undefined && batch.length === 0) return;
    }
  }

  heartbeat(): void {
    if (!this.#waiting && !this.res.writableEnded && !this.res.destroyed) this.#write(`event: heartbeat\ndata: ${JSON.stringify({ id: this.bus.lastId })}\n\n`);
  }

  close(): void {
    clearTimeout(this.#stallTimer);
  }

  /** The next piece of a replay older than the bus's memory, from the table. */
  #readLog(): void {
    this.#loading = true;
    this.bus.readLog(this.#cursor, this.opts.chunkBytes).then(
      (piece) => {
        this.#loading = false;
        if (piece && piece.events.length === 0) {
          // Nothing more in the table up to where memory begins: go on from memory.
          if (isAfter(piece.upTo, this.#cursor)) this.#cursor = piece.upTo;
        } else if (!this.#send(piece?.events)) return;
        this.pump();
      },
      () => {
        // The database did not answer: drop the stream; the client reconnects and resumes.
        this.#loading = false;
        this.res.destroy();
      },
    );
  }

  /**
   * Writes a piece (undefined: what the client missed is gone, so a reset) and, once caught up,
   * the ready frame. False when it stopped to wait for an owner look-up (which pumps again).
   */
  #send(batch: StoredEvent[] | undefined): boolean {
    let out = '';
    if (batch === undefined) {
      this.#cursor = this.bus.lastPosition;
      out += this.#resetFrame(false);
    } else {
      for (const s of batch) {
        if (this.owner) {
          const owner = this.owner.lookup.cachedOwner(s.sessionId);
          if (owner === undefined && this.#unresolvable !== s.id) {
            // Not known yet: write what is ready, stop here, and go on once the owner is loaded.
            if (out) this.#write(out);
            void this.owner.lookup
              .load(s.sessionId)
              .catch(() => undefined)
              .then(() => {
                // Still unknown (the session is gone): skip the event rather than wait forever.
                if (this.owner!.lookup.cachedOwner(s.sessionId) === undefined) this.#unresolvable = s.id;
                this.pump();
              });
            return false;
          }
          if (owner !== this.owner.name) {
            this.#cursor = s.position;
            continue;
          }
        }
        this.#cursor = s.position;
        if (this.sessionId !== undefined && s.sessionId !== this.sessionId) continue;
        out += frame(s);
        if (this.#readyAt !== undefined) this.#replayed += 1;
      }
    }
    if (this.#readyAt !== undefined && comparePositions(this.#cursor, this.#readyAt) >= 0) {
      const id = this.bus.idOf(this.#cursor);
      out += `id: ${id}\nevent: ready\ndata: ${JSON.stringify({ id, replayed: this.#replayed, reset: this.#reset })}\n\n`;
      this.#readyAt = undefined;
    }
    if (out) this.#write(out);
    return true;
  }

  #resetFrame(write = true): string {
    const id = this.bus.lastId;
    this.#reset = true;
    const text = `id: ${id}\nevent: reset\ndata: ${JSON.stringify({ id })}\n\n`;
    if (write) this.#write(text);
    return text;
  }

  #write(text: string): void {
    if (this.res.write(text)) return;
    // The socket holds more than its high-water mark: write nothing more until it drains.
    this.#waiting = true;
    this.#stallTimer = setTimeout(() => this.res.destroy(), this.opts.slowClientTimeoutMs);
    this.#stallTimer.unref();
    this.res.once('drain', () => {
      clearTimeout(this.#stallTimer);
      this.#waiting = false;
      this.pump();
    });
  }
}

export class SseStreams {
  readonly #open = new Set<Stream>();
  #closed = false;
  #unsubscribe: (() => void) | undefined;
  #heartbeat: ReturnType<typeof setInterval> | undefined;

  constructor(
    private readonly bus: EventBus,
    private readonly opts: SseOptions = DEFAULT_SSE_OPTIONS,
    private readonly owners?: (OwnerLookup & { learn(event: OrchestratorEvent): void }) | undefined,
  ) {}

  get size(): number {
    return this.#open.size;
  }

  /** False when maxStreams are open: the route answers 503 instead of opening another. */
  get hasRoom(): boolean {
    return this.#open.size < this.opts.maxStreams;
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
    // The position is taken and the stream registered in the same tick, so every
    // later event reaches it through pump(), and none is written twice.
    if (want.owner !== undefined && !this.owners) throw new Error('an owner-limited stream needs the owner lookup');
    const owner = want.owner !== undefined ? { name: want.owner, lookup: this.owners! } : undefined;
    const stream = new Stream(res, this.bus, this.opts, want.sessionId, want.since, owner);
    this.#open.add(stream);
    this.#start();
    const cleanup = () => {
      stream.close();
      this.#open.delete(stream);
    };
    req.on('close', cleanup);
    res.on('close', cleanup);
    stream.pump();
  }

  /** Ends every stream (server shutdown); the server's close() would otherwise wait on them forever. */
  closeAll(): void {
    this.#closed = true;
    this.#unsubscribe?.();
    clearInterval(this.#heartbeat);
    for (const s of this.#open) {
      s.close();
      s.res.end();
    }
    this.#open.clear();
  }

  /** One bus subscription and one heartbeat timer for all streams. */
  #start(): void {
    if (this.#unsubscribe) return;
    this.#unsubscribe = this.bus.subscribe((event) => {
      this.owners?.learn(event);
      for (const s of this.#open) s.pump();
    });
    this.#heartbeat = setInterval(() => {
      for (const s of this.#open) s.heartbeat();
    }, this.opts.heartbeatMs);
    this.#heartbeat.unref();
  }
}

/** Last-Event-ID wins over ?since=. */
export function parseSince(lastEventId: string | string[] | undefined, since: string | undefined): string | undefined {
  const header = Array.isArray(lastEventId) ? lastEventId[0] : lastEventId;
  if (header !== undefined && header.trim() !== '') return header.trim();
  return since;
}
