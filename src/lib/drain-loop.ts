/**
 * A worker that drains a database queue: `step` takes and handles one batch and says whether it
 * found any; the loop repeats while batches come back, then sleeps `pollMs`. kick() runs it at
 * once (or again right after the batch in hand). `notBefore` holds every run back until a time
 * (a rate limit's Retry-After). Used by the Slack outbox and the webhook sender.
 */
export interface DrainLoopOptions {
  pollMs: number;
  step: () => Promise<boolean>;
  onError: (e: unknown) => void;
  /** Epoch ms before which no batch is taken; default none. */
  notBefore?: () => number;
}

export class DrainLoop {
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #again = false;
  #stopped = true;

  constructor(private readonly o: DrainLoopOptions) {}

  start(): void {
    if (!this.#stopped) return;
    this.#stopped = false;
    this.#schedule(0);
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#running;
  }

  /** Something was queued: take it now rather than at the next poll. */
  kick(): void {
    if (this.#stopped) return;
    if (this.#running) this.#again = true;
    else this.#schedule(0);
  }

  #notBefore(): number {
    return this.o.notBefore?.() ?? 0;
  }

  #schedule(ms: number): void {
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => void this.#run(), Math.max(ms, this.#notBefore() - Date.now()));
  }

  async #run(): Promise<void> {
    if (this.#running || this.#stopped) return;
    this.#running = (async () => {
      try {
        // Keep going while batches come back: each one handled may free the next in its order.
        while (!this.#stopped && Date.now() >= this.#notBefore()) {
          this.#again = false;
          if (!(await this.o.step()) && !this.#again) break;
        }
      } catch (e: unknown) {
        this.o.onError(e);
      }
    })();
    await this.#running;
    this.#running = undefined;
    if (!this.#stopped) this.#schedule(this.#again ? 0 : this.o.pollMs);
  }
}
