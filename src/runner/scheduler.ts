/**
 * Decides which queued turn runs next: first in, first out across sessions, at
 * most `limit` at once, never two of one session, and none of a held (paused)
 * session. Pure bookkeeping: the runner starts what `take()` hands out.
 */
export interface QueuedTurn {
  turnId: number;
  sessionId: string;
}

export class Scheduler {
  readonly #waiting: QueuedTurn[] = [];
  readonly #running = new Set<string>();
  readonly #held = new Set<string>();

  constructor(private readonly limit: number) {}

  add(t: QueuedTurn): void {
    if (!this.#waiting.some((w) => w.turnId === t.turnId)) this.#waiting.push(t);
  }

  hold(sessionId: string): void {
    this.#held.add(sessionId);
  }

  release(sessionId: string): void {
    this.#held.delete(sessionId);
  }

  isHeld(sessionId: string): boolean {
    return this.#held.has(sessionId);
  }

  /** Drops a session's waiting turns (the session was closed). */
  drop(sessionId: string): void {
    for (let i = this.#waiting.length - 1; i >= 0; i--) if (this.#waiting[i]!.sessionId === sessionId) this.#waiting.splice(i, 1);
  }

  finished(sessionId: string): void {
    this.#running.delete(sessionId);
  }

  isRunning(sessionId: string): boolean {
    return this.#running.has(sessionId);
  }

  get runningCount(): number {
    return this.#running.size;
  }

  /** The turns to start now, marked running. */
  take(): QueuedTurn[] {
    const out: QueuedTurn[] = [];
    for (let i = 0; i < this.#waiting.length && this.#running.size < this.limit; ) {
      const t = this.#waiting[i]!;
      if (this.#running.has(t.sessionId) || this.#held.has(t.sessionId)) {
        i++;
        continue;
      }
      this.#waiting.splice(i, 1);
      this.#running.add(t.sessionId);
      out.push(t);
    }
    return out;
  }

  /**
   * 1-based place of the session's next turn among turns waiting for a free slot,
   * or null when it has none waiting (or it is held or already running).
   */
  position(sessionId: string): number | null {
    if (this.#running.has(sessionId) || this.#held.has(sessionId)) return null;
    let place = 0;
    const counted = new Set<string>();
    for (const t of this.#waiting) {
      if (this.#held.has(t.sessionId) || this.#running.has(t.sessionId) || counted.has(t.sessionId)) continue;
      counted.add(t.sessionId);
      place++;
      if (t.sessionId === sessionId) return place;
    }
    return null;
  }

  waitingFor(sessionId: string): number {
    return this.#waiting.filter((w) => w.sessionId === sessionId).length;
  }
}
