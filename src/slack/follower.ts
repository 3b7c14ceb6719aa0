/**
 * Keeps each Slack thread up to date with its session: every new assistant answer, a notice at
 * the end of each turn, and the status line. It works from what is stored, not from the events
 * themselves: an event only says "look at this thread now". Under the thread's row lock it reads
 * what is new since the thread's cursors, writes the posts into the outbox and moves the cursors,
 * in one transaction; so with several API processes, after a restart, or with events missed,
 * each answer is queued exactly once (the outbox's dedupe keys make that hold even if a cursor
 * were ever behind). A sweep every few seconds catches whatever no event pointed at.
 */
import { sql, type Transaction } from 'kysely';
import type { Database } from '../db/database.ts';
import type { DB } from '../db/schema.ts';
import { enqueueOutbox, liveThreadIds, lockThread, replacePendingStatus, setThreadCursor, threadBySession, type NewOutboxRow, type SlackThreadRow } from '../db/queries/slack.ts';
import type { EventBus, OrchestratorEvent } from '../events/bus.ts';
import type { Logger } from '../logger.ts';
import { answerPosts, approvalDecidedPost, approvalRequestPost, headPost, turnNotice, type ThreadStatus } from './render.ts';

export interface FollowerOptions {
  /** Events for one thread within this window are taken together (ms). */
  debounceMs: number;
  /** The backstop sweep over threads whose sessions may still change (ms). */
  sweepMs: number;
  fileThresholdChars: number;
  publicUrl: string;
}

const FINAL = ['completed', 'error', 'interrupted', 'timed_out', 'cancelled'];
/** Bounds both session caches (cleared when full: they are only shortcuts). */
const NEGATIVE_CACHE_MAX = 50_000;

export class SlackFollower {
  readonly #pending = new Map<number, NodeJS.Timeout>();
  /** Sessions known to have no thread (a Slack session's thread row is written before the session). */
  readonly #notSlack = new Set<string>();
  readonly #threadOf = new Map<string, number>();
  #unsubscribe: (() => void) | undefined;
  #sweep: NodeJS.Timeout | undefined;
  readonly #inFlight = new Set<Promise<void>>();

  constructor(
    private readonly deps: { database: Database; events: EventBus; logger: Logger; onQueued: () => void },
    private readonly o: FollowerOptions,
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

  /** Brings every thread that may still change up to date. */
  async sweep(): Promise<void> {
    try {
      for (const id of await liveThreadIds(this.deps.database.db, 500)) await this.sync(id);
    } catch (e: unknown) {
      this.deps.logger.warn({ err: e }, 'slack: thread sweep failed');
    }
  }

  #onEvent(e: OrchestratorEvent): void {
    const relevant = (e.type === 'message.created' && e.message.direction === 'assistant') || e.type === 'session.updated' || e.type === 'approval.updated';
    if (!relevant || this.#notSlack.has(e.session_id)) return;
    const known = this.#threadOf.get(e.session_id);
    if (known !== undefined) return this.#soon(known);
    void threadBySession(this.deps.database.db, e.session_id).then(
      (t) => {
        if (t) {
          if (this.#threadOf.size >= NEGATIVE_CACHE_MAX) this.#threadOf.clear();
          this.#threadOf.set(e.session_id, t.id);
          this.#soon(t.id);
        } else {
          if (this.#notSlack.size >= NEGATIVE_CACHE_MAX) this.#notSlack.clear();
          this.#notSlack.add(e.session_id);
        }
      },
      (err: unknown) => this.deps.logger.warn({ err, sessionId: e.session_id }, 'slack: thread lookup failed'),
    );
  }

  #soon(threadId: number): void {
    if (this.#pending.has(threadId)) return;
    this.#pending.set(threadId, setTimeout(() => {
      this.#pending.delete(threadId);
      const p = this.sync(threadId).finally(() => this.#inFlight.delete(p));
      this.#inFlight.add(p);
    }, this.o.debounceMs));
  }

  /** Queues what the thread lacks. Never throws (the sweep tries again). */
  async sync(threadId: number): Promise<void> {
    try {
      const queued = await this.deps.database.db.transaction().execute((tx) => this.#sync(tx, threadId));
      if (queued > 0) this.deps.onQueued();
    } catch (e: unknown) {
      this.deps.logger.warn({ err: e, threadId }, 'slack: bringing a thread up to date failed');
    }
  }

  async #sync(tx: Transaction<DB>, threadId: number): Promise<number> {
    const t = await lockThread(tx, threadId);
    if (!t) return 0;
    const session = await tx.selectFrom('sessions').select(['id', 'status', 'turn_state', 'metadata']).where('id', '=', t.session_id).executeTakeFirst();
    if (!session) return 0;
    // Turns first, messages after: a turn seen finished has every answer of it already stored.
    const turns = await tx
      .selectFrom('turns')
      .select(['id', 'status', 'started_at', 'ended_at', 'duration_ms', 'cost_usd', 'error'])
      .where('session_id', '=', t.session_id)
      .orderBy('id')
      .execute();
    const messages = await tx
      .selectFrom('session_messages')
      .select(['id', 'content', 'timestamp'])
      .where('session_id', '=', t.session_id)
      .where('direction', '=', 'assistant')
      .where('id', '>', t.synced_message_id)
      .orderBy('id')
      .limit(100)
      .execute();
    // The runner finishes a turn, then scans the workspace, then settles the session: until it has,
    // the turn's numbers (files changed) are not final, so its notice waits.
    const unsettled = session.turn_state === 'running' && !turns.some((x) => x.status === 'running');
    const finished = unsettled ? [] : turns.filter((x) => x.id > t.synced_turn_id && FINAL.includes(x.status) && x.status !== 'cancelled');
    const items: { at: number; rows: NewOutboxRow[] }[] = [];
    for (const m of messages) items.push({ at: new Date(m.timestamp).getTime(), rows: this.#answerRows(t, m.id, m.content) });
    for (const turn of finished) {
      const number = turns.findIndex((x) => x.id === turn.id) + 1;
      items.push({ at: (turn.ended_at ?? new Date()).getTime() + 0.5, rows: [await this.#noticeRow(tx, t, turn, number, session.metadata)] });
    }
    for (const a of await tx.selectFrom('approvals').selectAll().where('session_id', '=', t.session_id).orderBy('requested_at').limit(200).execute()) {
      // Each request is posted once with its buttons, and its decision once under it (dedupe keys).
      const base = { thread_id: t.id, channel_id: t.channel_id, kind: 'post' };
      items.push({ at: new Date(a.requested_at).getTime(), rows: [{ ...base, payload: { post: approvalRequestPost(a, this.o.publicUrl, t.session_id) }, dedupe_key: `approval:${a.id}` }] });
      if (a.status !== 'pending') items.push({ at: new Date(a.decided_at ?? Date.now()).getTime(), rows: [{ ...base, payload: { post: approvalDecidedPost(a) }, dedupe_key: `approval:${a.id}:decided` }] });
    }
    items.sort((a, b) => a.at - b.at);
    const rows = items.flatMap((i) => i.rows);
    let queued = await enqueueOutbox(tx, rows);
    const status = statusOf(session.status, session.turn_state, turns);
    if (status !== t.status_line) {
      const post = headPost({ sessionId: t.session_id, publicUrl: this.o.publicUrl, starter: t.starter_user_id, prompt: String((session.metadata.slack as { prompt?: unknown } | undefined)?.prompt ?? ''), status, turns: turns.filter((x) => x.status !== 'cancelled').length });
      if (!(await replacePendingStatus(tx, t.id, { post }))) queued += await enqueueOutbox(tx, [{ thread_id: t.id, channel_id: t.channel_id, kind: 'status', payload: { post }, dedupe_key: null }]);
    }
    await setThreadCursor(tx, t.id, {
      synced_message_id: messages.at(-1)?.id ?? t.synced_message_id,
      synced_turn_id: finished.at(-1)?.id ?? t.synced_turn_id,
      status_line: status,
    });
    return queued;
  }

  #answerRows(t: SlackThreadRow, messageId: number, content: string): NewOutboxRow[] {
    const { posts, file } = answerPosts(content, { fileThreshold: this.o.fileThresholdChars, name: `answer-${messageId}` });
    const base = { thread_id: t.id, channel_id: t.channel_id };
    const rows: NewOutboxRow[] = posts.map((post, i) => ({ ...base, kind: 'post', payload: { post }, dedupe_key: `msg:${messageId}:${i}` }));
    if (file) rows.push({ ...base, kind: 'file', payload: { file }, dedupe_key: `msg:${messageId}:file` });
    return rows;
  }

  async #noticeRow(tx: Transaction<DB>, t: SlackThreadRow, turn: { id: number; status: string; started_at: Date | null; ended_at: Date | null; duration_ms: number | null; cost_usd: number | null; error: string | null }, number: number, metadata: Record<string, unknown>): Promise<NewOutboxRow> {
    const tools = new Map<string, number>();
    if (turn.started_at && turn.ended_at) {
      const rows = await tx
        .selectFrom('command_logs')
        .select(['tool', sql<number>`count(*)::int`.as('n')])
        .where('session_id', '=', t.session_id)
        .where('timestamp', '>=', turn.started_at)
        .where('timestamp', '<=', turn.ended_at)
        .groupBy('tool')
        .execute();
      for (const r of rows) tools.set(r.tool, Number(r.n));
    }
    const changes = (metadata.workspace as { changes?: { files_changed?: number } } | undefined)?.changes;
    const durationMs = turn.duration_ms ?? (turn.started_at && turn.ended_at ? turn.ended_at.getTime() - turn.started_at.getTime() : null);
    const post = turnNotice({ turnNumber: number, status: turn.status, durationMs, costUsd: turn.cost_usd, tools, filesChanged: changes?.files_changed ?? null, error: turn.error }, this.o.publicUrl, t.session_id);
    return { thread_id: t.id, channel_id: t.channel_id, kind: 'post', payload: { post }, dedupe_key: `turn:${turn.id}` };
  }
}

/** The thread's status line from the session and its turns. */
export function statusOf(status: string, turnState: string, turns: { status: string }[]): ThreadStatus {
  if (status === 'completed') return 'closed';
  if (status === 'paused') return 'paused';
  if (turnState === 'running') return 'running';
  if (turnState === 'queued') return 'queued';
  const last = turns.filter((x) => x.status !== 'cancelled').at(-1);
  if (!last) return 'queued';
  return last.status === 'completed' ? 'done' : last.status === 'interrupted' ? 'paused' : 'failed';
}
