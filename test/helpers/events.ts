/** Records what an EventBus delivers, and waits for conditions on it (delivery is asynchronous with the durable log). */
import type { EventBus, OrchestratorEvent } from '../../src/events/bus.ts';

export interface EventRecorder {
  readonly events: OrchestratorEvent[];
  /** Resolves once check(events) holds, re-checked on each delivered event. */
  until(check: (events: OrchestratorEvent[]) => boolean, what?: string, timeoutMs?: number): Promise<void>;
  stop(): void;
}

export function recordEvents(bus: EventBus): EventRecorder {
  const events: OrchestratorEvent[] = [];
  const waiters = new Set<() => void>();
  const unsubscribe = bus.subscribe((e) => {
    events.push(e);
    for (const w of [...waiters]) w();
  });
  return {
    events,
    until(check, what = 'live events', timeoutMs = 10_000) {
      if (check(events)) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.delete(waiter);
          reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}; got ${events.map((e) => e.type).join(',')}`));
        }, timeoutMs);
        const waiter = () => {
          if (!check(events)) return;
          clearTimeout(timer);
          waiters.delete(waiter);
          resolve();
        };
        waiters.add(waiter);
      });
    },
    stop: unsubscribe,
  };
}
