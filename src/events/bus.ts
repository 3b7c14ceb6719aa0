/**
 * The in-process event stream. Every stored message, log and session change is
 * published here once, after its write committed; the dashboard's SSE endpoint,
 * and later Slack and metrics, subscribe. Each event gets a increasing `seq` and
 * the last `capacity` events are kept so a reconnecting client can replay what
 * it missed (SSE Last-Event-ID).
 */
import type { CommandLog, Message, Session, SessionEvent } from '../sessions/types.ts';

export type EventPayload =
  | { type: 'session.created'; session: Session }
  | { type: 'session.updated'; session: Session }
  | { type: 'message.created'; message: Message }
  | { type: 'log.created'; log: CommandLog }
  | { type: 'session_event.created'; event: SessionEvent };

export type OrchestratorEvent = EventPayload & { seq: number; session_id: string; at: string };

export type Listener = (event: OrchestratorEvent) => void;

function sessionIdOf(p: EventPayload): string {
  switch (p.type) {
    case 'message.created':
      return p.message.session_id;
    case 'log.created':
      return p.log.session_id;
    case 'session_event.created':
      return p.event.session_id;
    case 'session.created':
    case 'session.updated':
      return p.session.id;
    default: {
      const never: never = p;
      throw new Error(`unknown event ${JSON.stringify(never)}`);
    }
  }
}

export class EventBus {
  #seq = 0;
  readonly #listeners = new Set<Listener>();
  readonly #ring: OrchestratorEvent[] = [];

  constructor(private readonly capacity = 2000) {}

  publish(payload: EventPayload): OrchestratorEvent {
    const sessionId = sessionIdOf(payload);
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
