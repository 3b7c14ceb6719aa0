/**
 * Turns what is stored about a session into webhook deliveries. It works from stored state, not
 * from the events themselves: an event on the bus only says "look at this session now". Under
 * the session's cursor row lock it reads what is new since the cursor (turns started and ended,
 * status changes, creation and completion), queues one delivery per matching subscription and
 * moves the cursor, in one transaction; so with several API processes, after a restart, or with
 * events missed, each event is queued once (and the unique (subscription, event key) makes that
 * hold even if a cursor were ever behind). A sweep catches sessions no event pointed at.
 */
import type { Transaction } from 'kysely';
import type { Database } from '../db/database.ts';
import type { DB } from '../db/schema.ts';
import { countWebhooks, enqueueDeliveries, laggingSessions, lockCursor, pruneWebhookTables, saveCursor, statusChangesAfter, subscriptionsFor, type NewDelivery } from '../db/queries/webhooks.ts';
import { recentApprovals } from '../db/queries/approvals.ts';
import type { EventBus, OrchestratorEvent } from '../events/bus.ts';
import type { Logger } from '../logger.ts';
import { approvalEvents, FINAL_TURN, sessionCompleted, sessionCreated, statusChanged, turnEnded, turnStarted, type DerivedEvent, type SessionFacts, type TurnFacts } from './events.ts';

export interface DeriverOptions {
  /** Events for one session within this window are taken together (ms). */
  debounceMs: number;
  sweepMs: number;
  /** The sweep looks at sessions changed within this long (s): as long as deliveries are retried. */
  sweepWindowS: number;
  publicUrl: string;
}

const TURNS_PER_SYNC = 200;
/** How long "are there any subscriptions?" is believed (ms): a process that has none does no work. */
const ANY_TTL_MS = 2000;
const PRUNE_EVERY_MS = 10 * 60_000;

export class WebhookDeriver {
  readonly #pending = new Map<string, NodeJS.Timeout>();
  readonly #inFlight = new Set<Promise<void>>();
  #unsubscribe: (() => void) | undefined;
  #sweep: NodeJS.Timeout | undefined;
  #sweeping: Promise<void> | undefined;
  #any: { value: boolean; at: number } | undefined;
  #lastPrune = 0;

  constructor(
    private readonly deps: { database: Database; events: EventBus; logger: Logger; onQueued: () => void },
    private readonly o: DeriverOptions,
  ) {}

  start(): void {
    if (this.#unsubscribe) return;
    this.#unsubscribe = this.deps.events.subscribe((e) => this.#onEvent(e));
    this.#sweep = setInterval(() => void this.sweep(), this.o.sweepMs);
    this.#sweep.unref();
  }

  async stop(): Promise<void> {
    this.#unsubscribe?.();
    this.#unsubscribe = undefined;
    clearInterval(this.#sweep);
    for (const t of this.#pending.values()) clearTimeout(t);
    this.#pending.clear();
    await Promise.allSettled([...this.#inFlight]);
  }

  /** A subscription was made or removed here: look again at once. */
  forget(): void {
    this.#any = undefined;
  }

  async #anySubscriptions(): Promise<boolean> {
    if (this.#any && Date.now() - this.#any.at < ANY_TTL_MS) return this.#any.value;
    const value = (await countWebhooks(this.deps.database.db)) > 0;
    this.#any = { value, at: Date.now() };
    return value;
  }

  /** Brings every session that moved since its cursor up to date (stop() waits for it). */
  sweep(): Promise<void> {
    // One at a time: a long sweep (a backlog after an outage) is not joined by the next tick's.
    if (this.#sweeping) return this.#sweeping;
    const p = this.#sweep1().finally(() => {
      this.#inFlight.delete(p);
      this.#sweeping = undefined;
    });
    this.#sweeping = p;
    this.#inFlight.add(p);
    return p;
  }

  async #sweep1(): Promise<void> {
    try {
      if (!this.#unsubscribe || !(await this.#anySubscriptions())) return;
      for (const id of await laggingSessions(this.deps.database.db, this.o.sweepWindowS, 500)) {
        if (!this.#unsubscribe) return;
        await this.sync(id);
      }
      if (Date.now() - this.#lastPrune > PRUNE_EVERY_MS) {
        this.#lastPrune = Date.now();
        // Status changes are derived within seconds; deliveries are kept a week to be looked at.
        await pruneWebhookTables(this.deps.database.db, { statusChangesS: 2 * 86_400, deliveriesS: 7 * 86_400 });
      }
    } catch (e: unknown) {
      this.deps.logger.warn({ err: e }, 'webhooks: sweep failed');
    }
  }

  #onEvent(e: OrchestratorEvent): void {
    if (e.type !== 'session.created' && e.type !== 'session.updated' && e.type !== 'approval.updated') return;
    if (this.#pending.has(e.session_id)) return;
    this.#pending.set(e.session_id, setTimeout(() => {
      this.#pending.delete(e.session_id);
      const p = this.#anySubscriptions()
        .then((any) => (any ? this.sync(e.session_id) : undefined), () => undefined)
        .finally(() => this.#inFlight.delete(p));
      this.#inFlight.add(p);
    }, this.o.debounceMs));
  }

  /** Queues what the session's subscribers lack. Never throws (the sweep tries again). */
  async sync(sessionId: string): Promise<void> {
    try {
      const queued = await this.deps.database.db.transaction().execute((tx) => this.#sync(tx, sessionId));
      if (queued > 0) this.deps.onQueued();
    } catch (e: unknown) {
      this.deps.logger.warn({ err: e, sessionId }, 'webhooks: deriving a session\'s events failed');
    }
  }

  async #sync(tx: Transaction<DB>, sessionId: string): Promise<number> {
    const c = await lockCursor(tx, sessionId);
    const s = (await tx
      .selectFrom('sessions')
      .select(['id', 'status', 'owner', 'project_path', 'project_type', 'source', 'managed', 'created_at', 'updated_at', 'metadata', 'turn_state', 'cost_usd', 'input_tokens', 'output_tokens', 'turns'])
      .where('id', '=', sessionId)
      .executeTakeFirst()) as (SessionFacts & { turn_state: string }) | undefined;
    if (!s) return 0;
    const from = Math.min(Number(c.started_turn_id), Number(c.finished_turn_id));
    const turns = (await tx
      .selectFrom('turns')
      .select(['id', 'status', 'prompt', 'source', 'started_at', 'ended_at', 'cost_usd', 'input_tokens', 'output_tokens', 'num_turns', 'duration_ms', 'error', 'subtype'])
      .where('session_id', '=', sessionId)
      .where('id', '>', from)
      .orderBy('id')
      .limit(TURNS_PER_SYNC)
      .execute()).map((t) => ({ ...t, id: Number(t.id) })) as TurnFacts[];
    // The runner ends a turn, then scans the workspace (files changed) and sets the session's
    // status, then settles its turn state: until then the turn's numbers are not final, and what
    // follows it must not overtake it, so nothing is derived.
    if (s.turn_state === 'running' && !turns.some((t) => t.status === 'running')) return 0;

    const items: DerivedEvent[] = [];
    if (!c.created_done) {
      items.push(sessionCreated(s, this.o.publicUrl));
      c.created_done = true;
    }
    for (const t of turns) {
      if (t.id <= Number(c.started_turn_id)) continue;
      if (t.started_at) items.push(turnStarted(s, t, this.o.publicUrl));
      else if (t.status === 'queued') break; // this one and later ones start later
      c.started_turn_id = t.id;
    }
    for (const t of turns) {
      if (t.id <= Number(c.finished_turn_id)) continue;
      if (!FINAL_TURN.includes(t.status) || t.id > Number(c.started_turn_id)) break;
      // A turn cancelled before it started never began: nothing to report.
      if (t.status !== 'cancelled' || t.started_at) items.push(await turnEnded(tx, s, t, this.o.publicUrl));
      c.finished_turn_id = t.id;
    }
    const changes = await statusChangesAfter(tx, sessionId, Number(c.status_change_id));
    for (const ch of changes) {
      items.push(statusChanged(s, ch, this.o.publicUrl));
      c.status_change_id = ch.id;
    }
    // Requests and decisions of the last two days (older ones were derived then; the deliveries'
    // unique event key keeps a repeat from being queued twice).
    for (const a of await recentApprovals(tx, sessionId, 2 * 86_400)) items.push(...approvalEvents(s, a, this.o.publicUrl));
    // session.completed is the session's last event: it waits until its turns have all ended.
    const open = s.turn_state !== 'idle' || turns.some((t) => !FINAL_TURN.includes(t.status));
    if (s.status === 'completed' && !c.completed_done && !open) {
      const last = Math.max(new Date(s.updated_at).getTime(), ...items.map((i) => i.at.getTime()));
      items.push(sessionCompleted(s, new Date(last), this.o.publicUrl));
      c.completed_done = true;
    }
    // In the order things happened (a stable sort keeps creation order for equal times).
    items.sort((a, b) => a.at.getTime() - b.at.getTime());
    const queued = await enqueueDeliveries(tx, await this.#fanOut(tx, s, items));
    const complete = turns.length < TURNS_PER_SYNC && changes.length < 500;
    await saveCursor(tx, { ...c, seen_updated_at: complete ? s.updated_at : c.seen_updated_at });
    return queued;
  }

  /** One delivery per event and subscription that takes it. */
  async #fanOut(tx: Transaction<DB>, s: SessionFacts, items: DerivedEvent[]): Promise<NewDelivery[]> {
    if (items.length === 0) return [];
    const subs = await subscriptionsFor(tx, s.owner);
    const rows: NewDelivery[] = [];
    for (const item of items) {
      for (const w of subs) {
        // Subscriptions get what happens after they are made, not a session's history.
        if (!w.events.includes(item.type) || new Date(w.created_at).getTime() > item.at.getTime()) continue;
        rows.push({ webhook_id: w.id, session_id: s.id, event_key: item.key, event_type: item.type, event_at: item.at, data: item.data });
      }
    }
    return rows;
  }
}
