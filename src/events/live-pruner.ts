/**
 * Removes live events older than the retention, in bounded batches (each a short statement that
 * holds no lock others wait on). Every process runs one; concurrent runs are safe (see
 * pruneLiveEvents) and cheap (an index walk from the oldest row).
 */
import type { Database } from '../db/database.ts';
import { pruneLiveEvents } from '../db/queries/live-events.ts';
import type { Logger } from '../logger.ts';

export interface LivePrunerOptions {
  /** Events are kept this long (s); a client away longer gets `reset`. */
  retentionS: number;
  /** How often to prune (ms). */
  everyMs: number;
  /** Rows per delete statement. */
  batch: number;
  /** Delete statements per run at most; the rest waits for the next run. */
  maxBatchesPerRun: number;
}

export const DEFAULT_LIVE_PRUNER_OPTIONS: LivePrunerOptions = { retentionS: 600, everyMs: 30_000, batch: 1_000, maxBatchesPerRun: 50 };

export class LiveEventPruner {
  readonly opts: LivePrunerOptions;
  #timer: ReturnType<typeof setInterval> | undefined;
  #running: Promise<number> | undefined;

  constructor(
    private readonly database: Database,
    private readonly logger: Logger,
    opts: Partial<LivePrunerOptions> = {},
  ) {
    this.opts = { ...DEFAULT_LIVE_PRUNER_OPTIONS, ...opts };
  }

  start(): void {
    if (this.#timer) return;
    this.#timer = setInterval(() => void this.pruneNow().catch((e: unknown) => this.logger.warn({ err: e }, 'pruning live events failed; trying again later')), this.opts.everyMs);
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await this.#running?.catch(() => undefined);
  }

  /** One run (shared by concurrent callers); resolves with the rows deleted. */
  pruneNow(): Promise<number> {
    this.#running ??= this.#prune().finally(() => {
      this.#running = undefined;
    });
    return this.#running;
  }

  async #prune(): Promise<number> {
    let deleted = 0;
    for (let i = 0; i < this.opts.maxBatchesPerRun; i++) {
      const n = await pruneLiveEvents(this.database.db, this.opts.retentionS, this.opts.batch);
      deleted += n;
      if (n < this.opts.batch) break;
    }
    if (deleted > 0) this.logger.debug({ deleted, retentionS: this.opts.retentionS }, 'pruned live events');
    return deleted;
  }
}
