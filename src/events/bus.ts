/**
 * The in-process event stream. Every stored message, log and session change is
 * published here once, after its write committed; the dashboard's SSE endpoint,
 * and later Slack and metrics, subscribe. Each event gets a increasing `seq` and
 * the last `capacity` events are kept so a reconnecting client can replay what
 * it missed (SSE Last-Event-ID).
 */
import type { CommandLog, Message, Session } from '../sessions/types.ts';

export type EventPayload =
  | { type: 'session.created'; session: Session }
  | { type: 'session.updated'; session: Session }
  | { type: 'message.created'; message: Message }
  | { type: 'log.created'; log: CommandLog };

export type OrchestratorEvent = EventPayload & { seq: number; session_id: string; at: string };

export type Listener = (event: OrchestratorEvent) => void;

export class EventBus {
  #seq = 0;
  readonly #listeners = new Set<Listener>();
  readonly #ring: OrchestratorEvent[] = [];

  constructor(private readonly capacity = 2000) {}

  publish(payload: EventPayload): OrchestratorEvent {
    const sessionId =
      payload.type === 'message.created' ? payload.message.session_id : payload.type === 'log.created' ? payload.log.session_id : payload.session.id;
    const event = { ...payload, seq: ++this.#seq, session_id: sessionId, at: new Date().toISOString() } as OrchestratorEvent;
    this.#ring.push(event);
    if (this.#ring.length > this.capacity) this.#ring.shift();
    for (const l of this.#listeners) {
      try {
        l(event);
      } catch {
        // A faulty subscriber must not break the writer or the other subscribers.
      }
    }
    return event;
  }

  subscribe(listener: Listener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Events after `seq`, or undefined when some of them have already left the buffer. */
  since(seq: number): OrchestratorEvent[] | undefined {
    const first = this.#ring[0];
    if (seq >= this.#seq) return [];
    if (!first || first.seq > seq + 1) return undefined;
    return this.#ring.filter((e) => e.seq > seq);
  }

  get lastSeq(): number {
    return this.#seq;
  }
}
