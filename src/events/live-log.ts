/**
 * The durable side of the EventBus: published events are written to live_events in batches
 * (group commit: whatever is queued while one batch is written goes in the next, one statement
 * each), and replays older than memory are read back from there.
 *
 * One batch is in flight at a time, so the events of this process are stored in the order they
 * were published. A failed batch is retried a few times, then dropped and logged: the callers
 * (SessionService, hook ingest) have already committed their rows and must not fail for an event.
 */
import type { Database } from '../db/database.ts';
import { hasLiveEventAtOrBefore, insertLiveEvents, readLiveEventsBetween, type LiveEventRow, type NewLiveEvent } from '../db/queries/live-events.ts';
import type { Logger } from '../logger.ts';
import type { DurableLog, EventPayload, StoredEvent } from './bus.ts';
import { OwnEvents } from './own-events.ts';
import { comparePositions, type Position } from './position.ts';

export interface LiveLogOptions {
  /** Events per INSERT at most. */
  maxBatch: number;
  /** Tries per batch before it is dropped. */
  attempts: number;
  /** Wait before the n-th retry: n × retryDelayMs. */
  retryDelayMs: number;
  /** Events waiting at most (the database is down); more are dropped, and counted in the log. */
  maxQueued: number;
}

export const DEFAULT_LIVE_LOG_OPTIONS: LiveLogOptions = { maxBatch: 500, attempts: 4, retryDelayMs: 200, maxQueued: 50_000 };

const text = (p: Position) => ({ xid: String(p.xid), seq: String(p.seq) });

export function toStored(r: LiveEventRow): StoredEvent {
  const position = { xid: BigInt(r.xid), seq: BigInt(r.seq) };
  return { position, id: `${r.xid}.${r.seq}`, type: r.type as EventPayload['type'], sessionId: r.session_id, json: r.json, bytes: Buffer.byteLength(r.json) };
}

export class LiveEventLog implements DurableLog {
  readonly #queue: NewLiveEvent[] = [];
  #writing: Promise<void> | undefined;
  #dropped = 0;
  readonly opts: LiveLogOptions;

  constructor(
    private readonly database: Database,
    private readonly logger: Logger,
    opts: Partial<LiveLogOptions> = {},
    /** This process's events kept for its own reader. */
    readonly own: OwnEvents = new OwnEvents(),
  ) {
    this.opts = { ...DEFAULT_LIVE_LOG_OPTIONS, ...opts };
  }

  append(e: { sessionId: string; type: string; json: string; event: object }): void {
    if (this.#queue.length >= this.opts.maxQueued) {
      // Logged once per run of drops, with the count, when writing works again (#write).
      this.#dropped += 1;
      return;
    }
    this.#queue.push({ sessionId: e.sessionId, type: e.type, json: e.json, ownN: this.own.keep({ json: e.json, event: e.event }) });
    this.#drain();
  }

  /** Resolves once everything appended so far is written (or given up on). */
  async flush(): Promise<void> {
    while (this.#writing) await this.#writing;
  }

  async read(after: Position, upTo: Position, maxBytes: number): Promise<StoredEvent[] | undefined> {
    if (comparePositions(after, upTo) >= 0) return [];
    const rows = await readLiveEventsBetween(this.database.db, text(after), text(upTo), maxBytes, 1000);
    // Checked after the read: had a pruner removed rows past `after` before it, the row at or
    // before `after` would be gone too (live-events.ts pruneLiveEvents), so this catches it.
    if (!(await hasLiveEventAtOrBefore(this.database.db, text(after)))) return undefined;
    return rows.map(toStored);
  }

  #drain(): void {
    if (this.#writing || this.#queue.length === 0) return;
    this.#writing = this.#write(this.#queue.splice(0, this.opts.maxBatch)).finally(() => {
      this.#writing = undefined;
      this.#drain();
    });
  }

  async #write(batch: NewLiveEvent[]): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await insertLiveEvents(this.database.db, batch, this.own.origin);
        if (this.#dropped > 0) {
          this.logger.error({ dropped: this.#dropped, maxQueued: this.opts.maxQueued }, 'live events dropped: too many waiting to be written');
          this.#dropped = 0;
        }
        return;
      } catch (e: unknown) {
        if (attempt >= this.opts.attempts) {
          this.own.forget(batch.map((b) => b.ownN ?? null));
          this.logger.error({ err: e, events: batch.length, attempts: attempt, waiting: this.#queue.length }, 'live events lost: could not write them; clients miss them until they refetch');
          return;
        }
        this.logger.warn({ err: e, events: batch.length, attempt }, 'writing live events failed; retrying');
        await new Promise((r) => setTimeout(r, attempt * this.opts.retryDelayMs));
      }
    }
  }
}
