/**
 * Gives stored messages and tool logs their search vectors (migration 0018), in batches, off the
 * hook's write path. Searches do not wait for it: rows without a vector are checked on the spot
 * (src/db/queries/search.ts), so the indexer only keeps that check cheap.
 *
 * Every API process runs one (src/main.ts); concurrent indexers skip each other's rows (SKIP
 * LOCKED). While a batch comes back full the next follows, otherwise the indexer sleeps `idleMs`. While rows are
 * being written (the `activity` token moved during the batch) it keeps to `busyDuty` of the time:
 * on a small machine an indexer running flat out takes a whole core from the hooks it is
 * indexing (bench:api measured batched hook p99 doubling), and the work can as well wait for
 * the burst to pass.
 */
import type { Database } from '../db/database.ts';
import { indexPending, type IndexedTable } from '../db/queries/search-index.ts';
import type { Logger } from '../logger.ts';

export interface SearchIndexerOptions {
  /** Rows per UPDATE: a statement of ~200 rows takes a few tens of ms and locks only those rows. */
  batch: number;
  /** Sleep when nothing (or less than a batch) was waiting, ms. */
  idleMs: number;
  /** Sleep after a failed batch, ms (the error is logged). */
  retryMs: number;
  /**
   * Share of the time spent indexing while writes go on (0-1]: after a batch of t ms, the
   * indexer sleeps t × (1 / busyDuty - 1) before the next. 1: never holds back.
   */
  busyDuty: number;
}

export const DEFAULT_SEARCH_INDEXER_OPTIONS: SearchIndexerOptions = { batch: 200, idleMs: 250, retryMs: 5_000, busyDuty: 0.25 };

/** Something that changes whenever rows are written (the event bus's last position). */
export type WriteActivity = () => unknown;

const TABLES: readonly IndexedTable[] = ['session_messages', 'command_logs'];

export class SearchIndexer {
  readonly opts: SearchIndexerOptions;
  #loop: Promise<void> | undefined;
  #stopping = false;
  #wake: (() => void) | undefined;
  #pass: Promise<number> | undefined;

  constructor(
    private readonly database: Database,
    private readonly logger: Logger,
    opts: Partial<SearchIndexerOptions> = {},
    private readonly activity: WriteActivity = () => undefined,
  ) {
    this.opts = { ...DEFAULT_SEARCH_INDEXER_OPTIONS, ...opts };
    if (!(this.opts.busyDuty > 0 && this.opts.busyDuty <= 1)) throw new Error(`busyDuty must be in (0, 1], got ${this.opts.busyDuty}`);
  }

  start(): void {
    if (this.#loop) return;
    this.#stopping = false;
    this.#loop = this.#run();
  }

  /** Waits for the batch in progress; rows left without a vector are taken up by the next start. */
  async stop(): Promise<void> {
    this.#stopping = true;
    this.#wake?.();
    await this.#loop;
    this.#loop = undefined;
  }

  /** Indexes everything waiting now, batch after batch; resolves with the rows indexed (tests, benchmarks). */
  async drain(): Promise<number> {
    let total = 0;
    for (;;) {
      const n = await this.#batchOnce();
      total += n;
      if (n === 0) return total;
    }
  }

  /** One batch of each table (shared by concurrent callers); the rows indexed. */
  #batchOnce(): Promise<number> {
    this.#pass ??= (async () => {
      let n = 0;
      for (const table of TABLES) n += await indexPending(this.database.db, table, this.opts.batch);
      return n;
    })().finally(() => {
      this.#pass = undefined;
    });
    return this.#pass;
  }

  async #run(): Promise<void> {
    while (!this.#stopping) {
      let sleepMs = this.opts.idleMs;
      try {
        const before = this.activity();
        const started = performance.now();
        const n = await this.#batchOnce();
        const ms = performance.now() - started;
        if (n >= this.opts.batch) {
          const busy = !Object.is(before, this.activity());
          sleepMs = busy ? Math.round(ms * (1 / this.opts.busyDuty - 1)) : 0;
        }
        if (n > 0) this.logger.trace({ rows: n, ms: Math.round(ms * 10) / 10, pauseMs: sleepMs }, 'search vectors written');
      } catch (e: unknown) {
        if (this.#stopping) return;
        this.logger.warn({ err: e }, 'search indexing failed; trying again later (searches still find the rows)');
        sleepMs = this.opts.retryMs;
      }
      if (sleepMs > 0) await this.#sleep(sleepMs);
      else await new Promise((r) => setImmediate(r));
    }
  }

  #sleep(ms: number): Promise<void> {
    if (this.#stopping) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      timer.unref();
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.#wake = () => {
        this.#wake = undefined;
        done();
      };
    });
  }
}
