/**
 * The in-process event stream. Every stored message, log and session change is
 * published here once, after its write committed; the dashboard's SSE endpoint,
 * and later Slack and metrics, subscribe.
 *
 * Each event gets an increasing `seq`. Its position for clients is
 * `<epoch>-<seq>`: the epoch is new in every process, so a client that comes
 * back after a restart with an id of the previous process is recognised (and
 * told to refetch) instead of being answered from an unrelated sequence.
 *
 * The last events are kept, bounded in count and in bytes, so a reconnecting
 * client can replay what it missed (SSE Last-Event-ID). They are kept as the
 * JSON clients get, serialised once; an event larger than `maxEventBytes` is
 * kept and sent as a reference to fetch (see reference.ts), so one huge
 * message neither fills the buffer nor reaches clients as one frame.
 */
import { randomBytes } from 'node:crypto';
import type { CommandLog, Message, Session, SessionEvent } from '../sessions/types.ts';
import { referenceTo } from './reference.ts';

export type EventPayload =
  | { type: 'session.created'; session: Session }
  | { type: 'session.updated'; session: Session }
  | { type: 'message.created'; message: Message }
  | { type: 'log.created'; log: CommandLog }
  | { type: 'session_event.created'; event: SessionEvent };

export type OrchestratorEvent = EventPayload & { seq: number; session_id: string; at: string };

/** An event as clients get it: `json` is the full event, or its reference when the event is too big. */
export interface StoredEvent {
  seq: number;
  type: EventPayload['type'];
  sessionId: string;
  json: string;
  /** UTF-8 length of json. */
  bytes: number;
}

export type Listener = (event: OrchestratorEvent, stored: StoredEvent) => void;

export interface EventBusOptions {
  /** Events kept for replay. */
  capacity: number;
  /** Bytes (of the JSON clients get) kept for replay. */
  maxBytes: number;
  /** An event whose JSON is longer is kept and sent as a reference to fetch. */
  maxEventBytes: number;
}

export const DEFAULT_EVENT_BUS_OPTIONS: EventBusOptions = { capacity: 2000, maxBytes: 16 * 1024 * 1024, maxEventBytes: 64 * 1024 };

function sessionIdOf(p: EventPayload): string {
  switch (p.type) {
    case 'message.created':
      return p.message.session_id;
    case 'log.created':
      return p.log.session_id;
    case 'session_event.created':
      return p.event.session_id;
    case 'session.created':
    case 'session.updated':
      return p.session.id;
    default: {
      const never: never = p;
      throw new Error(`unknown event ${JSON.stringify(never)}`);
    }
  }
}

export class EventBus {
  /** Identifies this process's sequence; ids of another epoch cannot be replayed. */
  readonly epoch = randomBytes(4).toString('hex');
  readonly opts: EventBusOptions;
  #seq = 0;
  readonly #listeners = new Set<Listener>();
  /** Consecutive seqs from #ring[#head]; slots before #head are emptied and compacted away from time to time. */
  #ring: (StoredEvent | undefined)[] = [];
  #head = 0;
  #bytes = 0;

  constructor(opts: Partial<EventBusOptions> = {}) {
    const given = Object.fromEntries(Object.entries(opts).filter(([, v]) => v !== undefined));
    this.opts = { ...DEFAULT_EVENT_BUS_OPTIONS, ...given };
  }

  publish(payload: EventPayload): OrchestratorEvent {
    const sessionId = sessionIdOf(payload);
    const event = { ...payload, seq: ++this.#seq, session_id: sessionId, at: new Date().toISOString() } as OrchestratorEvent;
    let json = JSON.stringify(event);
    let bytes = Buffer.byteLength(json);
    if (bytes > this.opts.maxEventBytes) {
      json = JSON.stringify(referenceTo(event));
      bytes = Buffer.byteLength(json);
    }
    const stored: StoredEvent = { seq: event.seq, type: event.type, sessionId, json, bytes };
    this.#keep(stored);
    for (const l of this.#listeners) {
      try {
        l(event, stored);
      } catch {
        // A faulty subscriber must not break the writer or the other subscribers.
      }
    }
    return event;
  }

  subscribe(listener: Listener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * Where a client that last saw `id` (`<epoch>-<seq>`) continues: the seq to
   * read after, or undefined when it must refetch instead (another epoch, a
   * malformed id, a seq this process never issued, or events it missed that
   * have already left the buffer).
   */
  resume(id: string): number | undefined {
    const m = /^([0-9a-f]{8})-(\d{1,15})$/.exec(id.trim());
    if (!m || m[1] !== this.epoch) return undefined;
    const seq = Number(m[2]);
    if (seq > this.#seq) return undefined;
    return this.read(seq, 0) === undefined ? undefined : seq;
  }

  /**
   * Stored events after `seq`, oldest first, stopping once `maxBytes` is reached
   * (at least one event when any is there). Undefined when some of them have
   * already left the buffer.
   */
  read(seq: number, maxBytes: number): StoredEvent[] | undefined {
    if (seq >= this.#seq) return [];
    const first = this.#ring[this.#head];
    if (!first || first.seq > seq + 1) return undefined;
    const out: StoredEvent[] = [];
    let bytes = 0;
    for (let i = this.#head + (seq + 1 - first.seq); i < this.#ring.length; i++) {
      const e = this.#ring[i]!;
      out.push(e);
      bytes += e.bytes;
      if (bytes >= maxBytes) break;
    }
    return out;
  }

  idOf(seq: number): string {
    return `${this.epoch}-${seq}`;
  }

  get lastSeq(): number {
    return this.#seq;
  }

  get lastId(): string {
    return this.idOf(this.#seq);
  }

  /** What the replay buffer holds now. */
  get buffered(): { events: number; bytes: number } {
    return { events: this.#ring.length - this.#head, bytes: this.#bytes };
  }

  #keep(stored: StoredEvent): void {
    this.#ring.push(stored);
    this.#bytes += stored.bytes;
    while (this.#ring.length - this.#head > this.opts.capacity || (this.#bytes > this.opts.maxBytes && this.#ring.length - this.#head > 1)) {
      this.#bytes -= this.#ring[this.#head]!.bytes;
      this.#ring[this.#head] = undefined; // let it be collected now, not at the next compaction
      this.#head += 1;
    }
    // Compacting now and then keeps the drop O(1) per event and the array small.
    if (this.#head > 1024 && this.#head * 2 > this.#ring.length) {
      this.#ring = this.#ring.slice(this.#head);
      this.#head = 0;
    }
  }
}
