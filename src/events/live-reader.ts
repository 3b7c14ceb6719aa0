/**
 * Reads live_events back, in order, into this process's EventBus (which fans them out to SSE
 * streams). One per process that serves events; it LISTENs on cco_live for a prompt wake-up and
 * polls as a backstop (a notification lost with a dropped connection costs at most pollMs).
 *
 * Why the cursor is (xid, seq) and only rows with xid < xmin are read: a bigserial seq is drawn
 * before commit, so rows become visible out of seq order (a transaction holding seq 7 may commit
 * after one holding seq 8). xmin, the oldest transaction still running anywhere on the cluster,
 * splits the table: a row whose xid is below it belongs to a transaction that has ended, so it is
 * final (visible now, or never); a row that becomes visible later belongs to a transaction at or
 * above xmin, so its xid, and its position, sorts after every final row. Delivering final rows
 * only, in (xid, seq) order, the cursor only moves forward and nothing is skipped; and every
 * process delivers the same rows in the same order. The price: one long open transaction
 * anywhere on the cluster holds live events back until it ends (ARCHITECTURE.md).
 */
import pg from 'pg';
import type { Database } from '../db/database.ts';
import { LIVE_CHANNEL, readLiveEventJson, readLiveEventsAfter, snapshotStart } from '../db/queries/live-events.ts';
import type { Logger } from '../logger.ts';
import type { EventBus } from './bus.ts';
import { toStored } from './live-log.ts';
import { OwnEvents } from './own-events.ts';

export interface LiveReaderOptions {
  /** Poll backstop (ms). */
  pollMs: number;
  /** Poll sooner while rows are held back by a running transaction (ms). */
  heldPollMs: number;
  /** Rows per read. */
  batch: number;
  /** Wait before listening again after the connection dropped (ms). */
  reconnectMs: number;
}

export const DEFAULT_LIVE_READER_OPTIONS: LiveReaderOptions = { pollMs: 1_000, heldPollMs: 50, batch: 500, reconnectMs: 1_000 };

export class LiveEventReader {
  readonly opts: LiveReaderOptions;
  #cursor: { xid: string; seq: string } | undefined;
  #starting: Promise<void> | undefined;
  #stopping: Promise<void> | undefined;
  #stopped = false;
  #reading: Promise<void> | undefined;
  #again = false;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #client: pg.Client | undefined;
  #reconnectTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly database: Database,
    private readonly bus: EventBus,
    private readonly logger: Logger,
    opts: Partial<LiveReaderOptions> = {},
    /** What this process's writer keeps for it (shared with LiveEventLog). */
    private readonly own: OwnEvents = new OwnEvents(),
  ) {
    this.opts = { ...DEFAULT_LIVE_READER_OPTIONS, ...opts };
  }

  /** Starts after the newest final row: every event that becomes final from now on is delivered. */
  start(): Promise<void> {
    this.#starting ??= (async () => {
      // Before the start position is taken: every row after it that this process writes is kept.
      this.own.startKeeping();
      const at = await snapshotStart(this.database.db);
      this.#cursor = at;
      this.bus.startAt({ xid: BigInt(at.xid), seq: BigInt(at.seq) });
      await this.#listen();
      this.#wake();
    })();
    return this.#starting;
  }

  stop(): Promise<void> {
    this.#stopping ??= (async () => {
      this.#stopped = true;
      await this.#starting?.catch(() => undefined);
      clearTimeout(this.#timer);
      clearTimeout(this.#reconnectTimer);
      await this.#reading;
      this.own.stopKeeping();
      const client = this.#client;
      this.#client = undefined;
      await client?.end().catch(() => undefined);
    })();
    return this.#stopping;
  }

  /** Reads now; when a read is under way, once more after it (notifications are coalesced). */
  #wake(): void {
    if (this.#stopped || !this.#cursor) return;
    if (this.#reading) {
      this.#again = true;
      return;
    }
    this.#reading = this.#readUntilQuiet().finally(() => {
      this.#reading = undefined;
    });
  }

  async #readUntilQuiet(): Promise<void> {
    let held = false;
    try {
      do {
        this.#again = false;
        held = await this.#readAll();
      } while (this.#again && !this.#stopped);
    } catch (e: unknown) {
      this.logger.warn({ err: e }, 'reading live events failed; polling again');
    }
    if (this.#stopped) return;
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => this.#wake(), held ? this.opts.heldPollMs : this.opts.pollMs);
    this.#timer.unref();
  }

  /** Delivers every final row after the cursor; true when it saw rows held back by a running transaction. */
  async #readAll(): Promise<boolean> {
    for (;;) {
      const rows = await readLiveEventsAfter(this.database.db, this.#cursor!, this.opts.batch, this.own.origin);
      for (const row of rows) {
        if (!row.final) return true;
        if (this.#stopped) return false;
        const own = row.own_n === null ? undefined : this.own.take(Number(row.own_n));
        const json = own?.json ?? row.json ?? (await readLiveEventJson(this.database.db, row));
        // Pruned before it was read: only a reader as far behind as the retention (minutes) gets here.
        if (json !== undefined) this.bus.deliver(toStored({ ...row, json }), own?.event);
        this.#cursor = { xid: row.xid, seq: row.seq };
      }
      if (rows.length < this.opts.batch) return false;
    }
  }

  async #listen(): Promise<void> {
    if (this.#stopped) return;
    const client = new pg.Client({ connectionString: this.database.connectionString, application_name: 'cco-live' });
    const lost = (e?: unknown) => {
      if (this.#client !== client) return; // already replaced, or stopping
      this.#client = undefined;
      client.end().catch(() => undefined);
      if (this.#stopped) return;
      this.logger.warn({ err: e }, 'live events: LISTEN connection lost; reconnecting');
      this.#reconnectTimer = setTimeout(() => void this.#listen().then(() => this.#wake()), this.opts.reconnectMs);
      this.#reconnectTimer.unref();
    };
    client.on('notification', () => this.#wake());
    client.on('error', lost);
    client.on('end', () => lost());
    this.#client = client;
    try {
      await client.connect();
      await client.query(`LISTEN ${LIVE_CHANNEL}`);
    } catch (e: unknown) {
      lost(e); // the poll keeps events flowing meanwhile
    }
  }
}
