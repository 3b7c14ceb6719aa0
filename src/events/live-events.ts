/**
 * Live events shared by processes over the database, wired onto one EventBus: the writer
 * (live-log.ts), the reader (live-reader.ts) and the pruner (live-pruner.ts). attach() at
 * construction, so nothing published before start() bypasses the log.
 */
import type { Database } from '../db/database.ts';
import type { Logger } from '../logger.ts';
import type { EventBus } from './bus.ts';
import { LiveEventLog, type LiveLogOptions } from './live-log.ts';
import { LiveEventPruner, type LivePrunerOptions } from './live-pruner.ts';
import { LiveEventReader, type LiveReaderOptions } from './live-reader.ts';
import { OwnEvents } from './own-events.ts';

export interface LiveEventsOptions {
  log?: Partial<LiveLogOptions> | undefined;
  reader?: Partial<LiveReaderOptions> | undefined;
  pruner?: Partial<LivePrunerOptions> | undefined;
}

export class LiveEvents {
  readonly log: LiveEventLog;
  readonly reader: LiveEventReader;
  readonly pruner: LiveEventPruner;
  #stopping: Promise<void> | undefined;

  constructor(database: Database, bus: EventBus, logger: Logger, opts: LiveEventsOptions = {}) {
    const log = logger.child({ part: 'live-events' });
    const own = new OwnEvents();
    this.log = new LiveEventLog(database, log, opts.log, own);
    this.reader = new LiveEventReader(database, bus, log, opts.reader, own);
    this.pruner = new LiveEventPruner(database, log, opts.pruner);
    bus.attach(this.log);
  }

  /** read: false for a process that serves no live events (ROLE=runner): it writes and prunes only. */
  async start(opts: { read?: boolean } = {}): Promise<void> {
    if (opts.read ?? true) await this.reader.start();
    this.pruner.start();
  }

  /** Writes what is queued, then stops reading; before the database closes. */
  stop(): Promise<void> {
    this.#stopping ??= (async () => {
      await this.log.flush();
      await this.pruner.stop();
      await this.reader.stop();
    })();
    return this.#stopping;
  }
}
