/**
 * The events this process wrote to live_events and has not read back yet, kept in memory so its
 * reader need not fetch them (migration 0021): the writer stamps each row with this process's
 * origin and a number, the reader's query leaves the JSON out of rows carrying that origin, and
 * the reader takes JSON and event object from here instead: no bytes back over the wire and no
 * JSON.parse for what this process published itself.
 *
 * Kept only while this process reads (a runner process writes but never reads, so it would keep
 * them for ever), and at most `max` at a time: past that, rows go out unstamped and come back
 * from the table as before. A row the reader finds stamped but not kept here (a retried write
 * whose first try had committed after all) is fetched from the table.
 */
import { randomBytes } from 'node:crypto';

export interface OwnEvent {
  json: string;
  /** The object whose JSON is `json` (the event, or its reference when the event was too big). */
  event: object;
}

export class OwnEvents {
  /** Names this process start's rows; never reused. */
  readonly origin = randomBytes(8).toString('hex');
  readonly #kept = new Map<number, OwnEvent>();
  #next = 0;
  #keeping = false;

  constructor(readonly max = 100_000) {}

  /** The reader is running: keep what is written from now on. */
  startKeeping(): void {
    this.#keeping = true;
  }

  /** The reader stopped: nothing kept would ever be taken. */
  stopKeeping(): void {
    this.#keeping = false;
    this.#kept.clear();
  }

  /** The number to stamp on the row, or null when it is not kept (its row goes out unstamped). */
  keep(own: OwnEvent): number | null {
    if (!this.#keeping || this.#kept.size >= this.max) return null;
    const n = ++this.#next;
    this.#kept.set(n, own);
    return n;
  }

  /**
   * The event numbered n, once: delivered, it is forgotten, and so is every kept event numbered
   * below it. One write is in flight at a time, so this process's rows reach the log in number
   * order and the reader, which reads in log order, has passed those for good (written before
   * its start position, or written twice by a retry it has already read).
   */
  take(n: number): OwnEvent | undefined {
    for (const k of this.#kept.keys()) {
      if (k >= n) break;
      this.#kept.delete(k);
    }
    const own = this.#kept.get(n);
    this.#kept.delete(n);
    return own;
  }

  /** Events whose write was given up: their rows do not exist. */
  forget(ns: readonly (number | null)[]): void {
    for (const n of ns) if (n !== null) this.#kept.delete(n);
  }

  get size(): number {
    return this.#kept.size;
  }
}
