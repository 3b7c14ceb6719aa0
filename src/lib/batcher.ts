/**
 * Group commit for independent writes: submit() queues an item; whenever no
 * flush is running, everything queued (up to maxBatch) is flushed together. A
 * lone item is flushed at once, so an idle system adds no delay; under load the
 * items that arrive during one flush share the next one (one round trip and one
 * commit for many writes).
 */
export type FlushFn<I, O> = (items: I[]) => Promise<O[]>;

interface Pending<I, O> {
  item: I;
  resolve(value: O): void;
  reject(reason: unknown): void;
}

export class Batcher<I, O> {
  readonly #queue: Pending<I, O>[] = [];
  #flushing = false;

  /**
   * @param flush writes a batch; returns one result per item, in order.
   * @param fallback writes one item; used item by item when a batch fails, so one
   *   bad item fails only its own submit().
   */
  constructor(
    private readonly flush: FlushFn<I, O>,
    private readonly fallback: (item: I) => Promise<O>,
    private readonly maxBatch = 200,
  ) {}

  submit(item: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.#queue.push({ item, resolve, reject });
      this.#drain();
    });
  }

  #drain(): void {
    if (this.#flushing || this.#queue.length === 0) return;
    this.#flushing = true;
    const batch = this.#queue.splice(0, this.maxBatch);
    this.#write(batch).finally(() => {
      this.#flushing = false;
      this.#drain();
    });
  }

  async #write(batch: Pending<I, O>[]): Promise<void> {
    try {
      const results = batch.length === 1 ? [await this.fallback((batch[0] as Pending<I, O>).item)] : await this.flush(batch.map((p) => p.item));
      if (results.length !== batch.length) throw new Error(`batch flush returned ${results.length} results for ${batch.length} items`);
      batch.forEach((p, i) => p.resolve(results[i] as O));
      return;
    } catch (e: unknown) {
      if (batch.length === 1) {
        (batch[0] as Pending<I, O>).reject(e);
        return;
      }
    }
    await Promise.all(batch.map((p) => this.fallback(p.item).then(p.resolve, p.reject)));
  }
}
