/**
 * A running turn's spend against its budgets, checked after each model response. The session's
 * budget is checked at once against the room the turn started with: a session runs one turn at a
 * time, so nothing else spends it meanwhile. The owner's daily budget is shared by all the owner's
 * turns running at once, on this server or another: so the turn's estimate is stored with it and
 * the owner's figure (ended turns plus running ones) read back after each store. A turn is then
 * stopped once the owner is over, whichever turns' spend took them there. Between a store and the
 * read, the others may each spend one more response: that is the most the day can be passed by.
 */
import type { Logger } from '../logger.ts';
import type { Budgets, BudgetState } from './budgets.ts';

export interface RunningSpendDeps {
  budgets: Budgets;
  turnId: number;
  owner: string | null;
  /** The budget with the least left when the turn started (Budgets.tightest). */
  room: BudgetState | undefined;
  log: Logger;
  /** Called once, when the turn passes a budget: the caller stops it. */
  onPassed: (b: BudgetState) => void;
}

export class RunningSpend {
  #latest = 0;
  #stored = 0;
  #storing: Promise<void> | undefined;
  #passed: BudgetState | undefined;

  constructor(private readonly deps: RunningSpendDeps) {}

  /** The budget the turn passed while running, with what was spent against it; undefined if none. */
  get passed(): BudgetState | undefined {
    return this.#passed;
  }

  /** The turn's estimated cost so far (StreamRecorder's onCost). */
  note(usd: number): void {
    const { room } = this.deps;
    if (room && room.spentUsd + usd >= room.limitUsd) this.#pass({ ...room, spentUsd: room.spentUsd + usd });
    // Only the owner's daily budget needs the figure stored: the session's is known here.
    if (!this.deps.owner || this.deps.budgets.config.ownerDayUsd === undefined || usd <= this.#latest) return;
    this.#latest = usd;
    this.#storing ??= this.#store(this.deps.owner);
  }

  /** Waits for a store in flight to end (before the turn's final cost is written). */
  async settled(): Promise<void> {
    await this.#storing;
  }

  async #store(owner: string): Promise<void> {
    try {
      // One store in flight per turn; estimates that arrive meanwhile are folded into the next one.
      while (this.#stored < this.#latest) {
        const usd = this.#latest;
        await this.deps.budgets.recordRunning(this.deps.turnId, usd);
        this.#stored = usd;
        const over = await this.deps.budgets.ownerDayExceeded(owner);
        if (over) this.#pass(over);
      }
    } catch (e: unknown) {
      this.deps.log.warn({ err: e }, 'could not store or check the running cost of the turn; the next model response tries again');
    } finally {
      this.#storing = undefined;
    }
  }

  #pass(b: BudgetState): void {
    if (this.#passed) return;
    this.#passed = b;
    this.deps.onPassed(b);
  }
}
