/**
 * The live event stream. Every stored message, log and session change is published here once,
 * after its write committed; the dashboard's SSE endpoint, and later Slack and metrics, subscribe.
 *
 * With a durable log attached (the server, and the integration tests), publish() only hands the
 * event to the log (live_events, see live-log.ts): it reaches subscribers when this process's
 * LiveEventReader reads it back, in the one global order every process sees, from whichever
 * process wrote it. Without one (unit tests building `new EventBus()`) it is delivered at once,
 * in this process only.
 *
 * Each delivered event has a position (position.ts); clients get it as the SSE id and resume
 * from it. The last events are kept, bounded in count and in bytes, so a reconnecting client can
 * replay what it missed from memory; older ones come from the log (readLog), which is what lets
 * a client resume across restarts and across API processes. They are kept as the JSON clients
 * get, serialised once by the publishing process; an event larger than `maxEventBytes` is kept
 * and sent as a reference to fetch (see reference.ts), so one huge message neither fills the
 * buffer nor reaches clients as one frame.
 */
import { randomBytes } from 'node:crypto';
import type { ApprovalView } from '../approvals/service.ts';
import type { CommandLog, Message, Session, SessionEvent } from '../sessions/types.ts';
import { comparePositions, formatDurableId, isAfter, ORIGIN, parseDurableId, type Position } from './position.ts';
import { referenceTo } from './reference.ts';

export type EventPayload =
  | { type: 'session.created'; session: Session }
  | { type: 'session.updated'; session: Session }
  | { type: 'message.created'; message: Message }
  | { type: 'log.created'; log: CommandLog }
  | { type: 'session_event.created'; event: SessionEvent }
  | { type: 'approval.updated'; approval: ApprovalView };

export type OrchestratorEvent = EventPayload & { session_id: string; at: string };

/** An event as clients get it: `json` is the full event, or its reference when the event is too big. */
export interface StoredEvent {
  position: Position;
  /** The position as clients see it (the SSE id). */
  id: string;
  type: EventPayload['type'];
  sessionId: string;
  json: string;
  /** UTF-8 length of json. */
  bytes: number;
}

export type Listener = (event: OrchestratorEvent, stored: StoredEvent) => void;

/** Where published events go and older ones come back from (live-log.ts, live-reader.ts). */
export interface DurableLog {
  /** Queues the event for writing; never throws, never waits. `event` is the object `json` was made from. */
  append(event: { sessionId: string; type: string; json: string; event: object }): void;
  /**
   * Events after `after` up to `upTo` (delivered, so final), about `maxBytes` at a time; undefined
   * when some of them have been pruned (the client must refetch).
   */
  read(after: Position, upTo: Position, maxBytes: number): Promise<StoredEvent[] | undefined>;
}

export interface EventBusOptions {
  /** Events kept for replay. */
  capacity: number;
  /** Bytes (of the JSON clients get) kept for replay. */
  maxBytes: number;
  /** An event whose JSON is longer is kept and sent as a reference to fetch. */
  maxEventBytes: number;
}

export const DEFAULT_EVENT_BUS_OPTIONS: EventBusOptions = { capacity: 2000, maxBytes: 16 * 1024 * 1024, maxEventBytes: 64 * 1024 };

/** What read() answers when the events after a position are older than memory holds: ask readLog(). */
export const IN_LOG = 'in-log';

function sessionIdOf(p: EventPayload): string {
  switch (p.type) {
    case 'message.created':
      return p.message.session_id;
    case 'log.created':
      return p.log.session_id;
    case 'session_event.created':
      return p.event.session_id;
    case 'approval.updated':
      return p.approval.session_id;
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
  /** Names this process's in-process sequence (no durable log): its ids cannot be replayed elsewhere. */
  readonly epoch = randomBytes(4).toString('hex');
  readonly opts: EventBusOptions;
  #log: DurableLog | undefined;
  #localSeq = 0n;
  readonly #listeners = new Set<Listener>();
  /** Told of each event this process publishes, once, before it goes to the log (metrics count there). */
  readonly #publishWatchers = new Set<(event: OrchestratorEvent) => void>();
  /** Delivered events in order from #ring[#head]; slots before #head are emptied and compacted away now and then. */
  #ring: (StoredEvent | undefined)[] = [];
  #head = 0;
  #bytes = 0;
  /** Every delivered event after this position is in the ring. */
  #floor: Position = ORIGIN;
  #last: Position = ORIGIN;

  constructor(opts: Partial<EventBusOptions> = {}) {
    const given = Object.fromEntries(Object.entries(opts).filter(([, v]) => v !== undefined));
    this.opts = { ...DEFAULT_EVENT_BUS_OPTIONS, ...given };
  }

  /** Sends published events through `log`; deliver() then brings them back, from every process. */
  attach(log: DurableLog): void {
    this.#log = log;
  }

  /** Where delivery from the log begins (LiveEventReader.start); memory holds nothing before it. */
  startAt(position: Position): void {
    if (this.buffered.events > 0 || !isAfter(position, this.#last)) return;
    this.#floor = position;
    this.#last = position;
  }

  get durable(): boolean {
    return this.#log !== undefined;
  }

  publish(payload: EventPayload): OrchestratorEvent {
    const sessionId = sessionIdOf(payload);
    const event = { ...payload, session_id: sessionId, at: new Date().toISOString() } as OrchestratorEvent;
    for (const w of this.#publishWatchers) {
      try {
        w(event);
      } catch {
        // A watcher (metrics) must never stop an event from being published.
      }
    }
    let json = JSON.stringify(event);
    let sent: object = event;
    if (Buffer.byteLength(json) > this.opts.maxEventBytes) {
      sent = referenceTo(event);
      json = JSON.stringify(sent);
    }
    if (this.#log) {
      this.#log.append({ sessionId, type: event.type, json, event: sent });
      return event;
    }
    const position = { xid: 0n, seq: ++this.#localSeq };
    this.#deliver({ position, id: this.idOf(position), type: event.type, sessionId, json, bytes: Buffer.byteLength(json) }, event);
    return event;
  }

  /**
   * Watches what this process publishes (not what other processes publish, which subscribers also
   * get): what happened here, counted once in the process it happened in. Returns the unwatch.
   */
  onPublish(watcher: (event: OrchestratorEvent) => void): () => void {
    this.#publishWatchers.add(watcher);
    return () => this.#publishWatchers.delete(watcher);
  }

  /**
   * An event read back from the durable log, in log order (LiveEventReader). `event`: the object
   * its JSON was made from, when this process published it (OwnEvents); otherwise parsed here.
   */
  deliver(stored: StoredEvent, event?: object): void {
    if (!isAfter(stored.position, this.#last)) return; // read twice (a reader restart): already out
    this.#deliver(stored, (event ?? JSON.parse(stored.json)) as OrchestratorEvent);
  }

  subscribe(listener: Listener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * Where a client that last saw `id` continues, or undefined when it must refetch instead: a
   * malformed id, or one of the other kind (an in-process id given to a durable bus, or another
   * process's epoch). A durable position that turns out to be pruned is found out by readLog().
   */
  resume(id: string): Position | undefined {
    if (this.#log) return parseDurableId(id);
    const m = /^([0-9a-f]{8})-(\d{1,15})$/.exec(id.trim());
    if (!m || m[1] !== this.epoch) return undefined;
    const at = { xid: 0n, seq: BigInt(m[2]!) };
    return isAfter(at, this.#last) || this.read(at, 0) === undefined ? undefined : at;
  }

  /**
   * Delivered events after `after`, oldest first, stopping once `maxBytes` is reached (at least
   * one event when any is there). IN_LOG when some are older than memory holds and the durable
   * log has them; undefined when they are gone (in-process bus).
   */
  read(after: Position, maxBytes: number): StoredEvent[] | typeof IN_LOG | undefined {
    if (comparePositions(after, this.#floor) < 0) return this.#log ? IN_LOG : undefined;
    const out: StoredEvent[] = [];
    let bytes = 0;
    for (let i = this.#firstAfter(after); i < this.#ring.length; i++) {
      const e = this.#ring[i]!;
      out.push(e);
      bytes += e.bytes;
      if (bytes >= maxBytes) break;
    }
    return out;
  }

  /**
   * The durable log's events after `after` that memory no longer holds, a piece at a time, with
   * the position memory began at when asked (`upTo`: an empty piece means go on from there).
   * Undefined when some were pruned.
   */
  async readLog(after: Position, maxBytes: number): Promise<{ events: StoredEvent[]; upTo: Position } | undefined> {
    if (!this.#log) return undefined;
    const upTo = this.#floor;
    const events = await this.#log.read(after, upTo, maxBytes);
    return events && { events, upTo };
  }

  idOf(position: Position): string {
    return this.#log ? formatDurableId(position) : `${this.epoch}-${position.seq}`;
  }

  /** The position of the last delivered event (or where delivery started). */
  get lastPosition(): Position {
    return this.#last;
  }

  get lastId(): string {
    return this.idOf(this.#last);
  }

  /** What the replay buffer holds now. */
  get buffered(): { events: number; bytes: number } {
    return { events: this.#ring.length - this.#head, bytes: this.#bytes };
  }

  #deliver(stored: StoredEvent, event: OrchestratorEvent): void {
    this.#keep(stored);
    this.#last = stored.position;
    for (const l of this.#listeners) {
      try {
        l(event, stored);
      } catch {
        // A faulty subscriber must not break delivery or the other subscribers.
      }
    }
  }

  /** Index of the first kept event after `after` (binary search: the ring is in position order). */
  #firstAfter(after: Position): number {
    let lo = this.#head;
    let hi = this.#ring.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (isAfter(this.#ring[mid]!.position, after)) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }

  #keep(stored: StoredEvent): void {
    this.#ring.push(stored);
    this.#bytes += stored.bytes;
    while (this.#ring.length - this.#head > this.opts.capacity || (this.#bytes > this.opts.maxBytes && this.#ring.length - this.#head > 1)) {
      const dropped = this.#ring[this.#head]!;
      this.#bytes -= dropped.bytes;
      this.#floor = dropped.position;
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
