/**
 * Sends the outbox (slack_outbox) to Slack. Every process with Slack on runs one; a post is
 * claimed by one of them (SKIP LOCKED, with a lease), so it is made once whichever process
 * wrote it. Failures delay a post, they do not lose it:
 * - 429: the post waits for Retry-After, and this sender pauses as long (Slack's limits are per
 *   method and workspace, so the next post would get the same answer);
 * - Slack down (5xx, refused connections): retried with backoff for up to a day;
 * - a refusal that will not change (invalid_auth, channel_not_found, …): failed and logged.
 * A post whose outcome is unknown (the connection dropped after sending, or the sending process
 * died and its lease ran out) is first looked for in the thread, by the outbox id it carries in
 * its message metadata, so it is never posted twice.
 */
import { ErrorCode, type WebAPICallResult, type WebClient } from '@slack/web-api';
import type { Database } from '../db/database.ts';
import { claimOutbox, markOutboxFailed, markOutboxRetry, markOutboxSent, setThreadHead, threadById, type OutboxRow } from '../db/queries/slack.ts';
import { DrainLoop } from '../lib/drain-loop.ts';
import type { Logger } from '../logger.ts';
import type { Metrics } from '../metrics/metrics.ts';
import type { SlackFile, SlackPost } from './render.ts';

export interface OutboxOptions {
  /** How often an idle sender looks for posts (ms); kick() wakes it at once. */
  pollMs: number;
  leaseMs: number;
  batch: number;
  /** Backoff of a failing post: first delay and cap (ms). */
  backoffMs: number;
  maxBackoffMs: number;
  /** A post still failing after this long is given up (ms). */
  giveUpMs: number;
}

export const DEFAULT_OUTBOX_OPTIONS: OutboxOptions = { pollMs: 1000, leaseMs: 30_000, batch: 10, backoffMs: 1000, maxBackoffMs: 60_000, giveUpMs: 24 * 3600_000 };

/** Slack answers that mean the post can never succeed as it is. */
const PERMANENT = new Set([
  'invalid_auth', 'not_authed', 'account_inactive', 'token_revoked', 'no_permission', 'missing_scope', 'channel_not_found', 'not_in_channel',
  'is_archived', 'msg_too_long', 'msg_blocks_too_long', 'invalid_blocks', 'no_text', 'thread_not_found', 'message_not_found', 'cant_update_message',
  'edit_window_closed', 'user_not_in_channel', 'invalid_arguments', 'restricted_action',
]);
/** Answers that mean done: the reaction or edit is already there. */
const ALREADY = new Set(['already_reacted', 'no_reaction']);

export const POST_EVENT_TYPE = 'cco_post';

interface Attempt {
  kind: 'sent' | 'retry' | 'failed';
  result?: Record<string, unknown>;
  delayMs?: number;
  error?: string;
}

export class SlackOutbox {
  readonly #o: OutboxOptions;
  readonly #loop: DrainLoop;
  #pausedUntil = 0;

  constructor(
    private readonly deps: { database: Database; client: WebClient; logger: Logger; metrics?: Metrics | undefined },
    options: Partial<OutboxOptions> = {},
  ) {
    this.#o = { ...DEFAULT_OUTBOX_OPTIONS, ...options };
    this.#loop = new DrainLoop({
      pollMs: this.#o.pollMs,
      notBefore: () => this.#pausedUntil,
      onError: (e) => this.deps.logger.error({ err: e }, 'slack outbox: sending failed'),
      step: async () => {
        const rows = await claimOutbox(this.deps.database.db, this.#o.batch, this.#o.leaseMs);
        await Promise.all(rows.map((r) => this.#deliver(r)));
        return rows.length > 0;
      },
    });
  }

  start(): void {
    this.#loop.start();
  }

  stop(): Promise<void> {
    return this.#loop.stop();
  }

  /** Something was queued: send it now rather than at the next poll. */
  kick(): void {
    this.#loop.kick();
  }

  async #deliver(row: OutboxRow): Promise<void> {
    const log = this.deps.logger.child({ outboxId: row.id, kind: row.kind, channel: row.channel_id });
    let attempt: Attempt;
    try {
      attempt = await this.#attempt(row);
    } catch (e: unknown) {
      attempt = classify(e);
    }
    const db = this.deps.database.db;
    if (attempt.kind === 'sent') {
      await markOutboxSent(db, row.id, attempt.result ?? {});
      this.deps.metrics?.slackDelivery('delivered');
      return;
    }
    const age = Date.now() - new Date(row.created_at).getTime();
    if (attempt.kind === 'failed' || age > this.#o.giveUpMs) {
      log.error({ error: attempt.error, attempts: row.attempts }, 'slack post failed for good');
      await markOutboxFailed(db, row.id, attempt.error ?? 'failed');
      this.deps.metrics?.slackDelivery('failed');
      return;
    }
    const backoff = Math.min(this.#o.maxBackoffMs, this.#o.backoffMs * 2 ** Math.min(row.attempts - 1, 16));
    const delayMs = attempt.delayMs ?? backoff;
    if (attempt.error?.startsWith('ratelimited')) this.#pausedUntil = Math.max(this.#pausedUntil, Date.now() + delayMs);
    log.warn({ error: attempt.error, attempts: row.attempts, retryInMs: delayMs }, 'slack post delayed');
    await markOutboxRetry(db, row.id, delayMs, attempt.error ?? 'retry');
    this.deps.metrics?.slackDelivery('retried');
  }

  async #attempt(row: OutboxRow): Promise<Attempt> {
    const client = this.deps.client;
    const p = row.payload as { post?: SlackPost; file?: SlackFile; thread_ts?: string | null; user?: string };
    const thread = row.thread_id === null ? undefined : await threadById(this.deps.database.db, row.thread_id);
    if (row.thread_id !== null && !thread) return { kind: 'failed', error: 'thread_deleted' };
    // The earlier try may have landed: look before posting again.
    const unsure = row.last_error?.startsWith('unsure') ?? false;
    switch (row.kind) {
      case 'head': {
        const threadTs = p.thread_ts ?? null;
        const found = unsure ? await this.#find(row, threadTs) : undefined;
        const ts = found ?? (await client.chat.postMessage({ channel: row.channel_id, ...(threadTs ? { thread_ts: threadTs } : {}), ...p.post!, metadata: meta(row) })).ts!;
        if (thread) await setThreadHead(this.deps.database.db, thread.id, ts, threadTs);
        return { kind: 'sent', result: { ts } };
      }
      case 'post': {
        if (!thread?.thread_ts) return { kind: 'failed', error: 'thread_not_started' };
        const found = unsure ? await this.#find(row, thread.thread_ts) : undefined;
        const ts = found ?? (await client.chat.postMessage({ channel: row.channel_id, thread_ts: thread.thread_ts, ...p.post!, metadata: meta(row) })).ts!;
        return { kind: 'sent', result: { ts } };
      }
      case 'status': {
        if (!thread?.head_ts) return { kind: 'failed', error: 'thread_not_started' };
        await client.chat.update({ channel: row.channel_id, ts: thread.head_ts, ...p.post! });
        return { kind: 'sent', result: { ts: thread.head_ts } };
      }
      case 'file': {
        if (!thread?.thread_ts) return { kind: 'failed', error: 'thread_not_started' };
        const f = p.file!;
        const title = `${f.title} (#${row.id})`;
        const found = unsure ? await this.#find(row, thread.thread_ts, title) : undefined;
        if (found) return { kind: 'sent', result: { ts: found } };
        await client.filesUploadV2({ channel_id: row.channel_id, thread_ts: thread.thread_ts, content: f.content, filename: f.filename, title, initial_comment: f.initialComment });
        return { kind: 'sent', result: { file: title } };
      }
      case 'ephemeral': {
        const threadTs = p.thread_ts ?? thread?.thread_ts ?? undefined;
        await client.chat.postEphemeral({ channel: row.channel_id, user: p.user!, ...(threadTs ? { thread_ts: threadTs } : {}), ...p.post! });
        return { kind: 'sent' };
      }
      default:
        return { kind: 'failed', error: `unknown outbox kind ${row.kind}` };
    }
  }

  /** The ts of this outbox row's post if it is already in the thread (by metadata, or a file's title). */
  async #find(row: OutboxRow, threadTs: string | null, fileTitle?: string): Promise<string | undefined> {
    const client = this.deps.client;
    type Msg = { ts?: string; metadata?: { event_payload?: { outbox_id?: unknown } }; files?: { title?: string }[] };
    const matches = (m: Msg) => (fileTitle ? (m.files ?? []).some((f) => f.title === fileTitle) : String(m.metadata?.event_payload?.outbox_id ?? '') === String(row.id));
    const since = String(Math.floor(new Date(row.created_at).getTime() / 1000) - 5);
    const r: WebAPICallResult & { messages?: Msg[] } = threadTs
      ? await client.conversations.replies({ channel: row.channel_id, ts: threadTs, include_all_metadata: true, limit: 200, oldest: since })
      : await client.conversations.history({ channel: row.channel_id, include_all_metadata: true, limit: 200, oldest: since });
    return (r.messages ?? []).find(matches)?.ts;
  }
}

const meta = (row: OutboxRow) => ({ event_type: POST_EVENT_TYPE, event_payload: { outbox_id: String(row.id) } });

/** What an error from the Web API client means for the post. */
export function classify(e: unknown): Attempt {
  const err = e as { code?: string; retryAfter?: number; data?: { error?: string }; statusCode?: number; original?: { code?: string }; message?: string };
  switch (err.code) {
    case ErrorCode.RateLimitedError:
      return { kind: 'retry', delayMs: Math.max(1, err.retryAfter ?? 1) * 1000, error: `ratelimited: retry after ${err.retryAfter ?? 1} s` };
    case ErrorCode.PlatformError: {
      const code = err.data?.error ?? 'unknown_error';
      if (ALREADY.has(code)) return { kind: 'sent', result: { already: code } };
      return PERMANENT.has(code) ? { kind: 'failed', error: code } : { kind: 'retry', error: code };
    }
    case ErrorCode.HTTPError:
      // Slack answered with an error status: it did not take the post.
      return { kind: 'retry', error: `http ${err.statusCode ?? '?'}` };
    case ErrorCode.RequestError:
      // No answer: the post may have reached Slack; look for it before the next try.
      return { kind: 'retry', error: `unsure: ${err.original?.code ?? err.message ?? 'request failed'}` };
    default:
      return { kind: 'retry', error: `unsure: ${err.message ?? String(e)}` };
  }
}
