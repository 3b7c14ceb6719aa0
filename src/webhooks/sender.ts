/**
 * Sends the delivery queue (webhook_deliveries). Every API process runs one; a delivery is claimed
 * by one of them (SKIP LOCKED, with a lease), so it is made once whichever process queued it, and
 * a sender that dies mid-way leaves a lease that runs out (the delivery is then sent again: at
 * least once). Timeouts, refused connections and non-2xx answers are retried with backoff (1 s
 * doubling to a cap) for 24 h from the first try, then the delivery is `failed`.
 */
import type { Database } from '../db/database.ts';
import { claimDeliveries, markDelivered, markFailed, markRetry, webhooksByIds, type DeliveryRow, type WebhookRow } from '../db/queries/webhooks.ts';
import { AppError } from '../lib/errors.ts';
import type { Logger } from '../logger.ts';
import { VERSION } from '../version.ts';
import { signature } from './signature.ts';
import { checkTarget, postJson, type PostResult, type TargetPolicy } from './target.ts';
import type { SecretBox } from '../lib/secret-box.ts';
import { DrainLoop } from '../lib/drain-loop.ts';
import type { Metrics } from '../metrics/metrics.ts';

export interface SenderOptions {
  /** How often an idle sender looks for due deliveries (ms); kick() wakes it at once. */
  pollMs: number;
  leaseMs: number;
  /** Deliveries claimed (and sent at once) per round. */
  batch: number;
  backoffMs: number;
  maxBackoffMs: number;
  /** A delivery still failing this long after its first try is given up (ms). */
  giveUpMs: number;
  /** WEBHOOK_TIMEOUT_MS: one attempt, connection to the end of the answer. */
  timeoutMs: number;
}

export const DEFAULT_SENDER_OPTIONS: SenderOptions = { pollMs: 1000, leaseMs: 60_000, batch: 64, backoffMs: 1000, maxBackoffMs: 60_000, giveUpMs: 24 * 3600_000, timeoutMs: 10_000 };

/** The body receivers get (and the signature covers, byte for byte). */
export function deliveryBody(d: Pick<DeliveryRow, 'event_key' | 'event_type' | 'event_at' | 'data'>): string {
  return JSON.stringify({ id: d.event_key, type: d.event_type, created_at: new Date(d.event_at).toISOString(), data: d.data });
}

export class WebhookSender {
  readonly #o: SenderOptions;
  readonly #loop: DrainLoop;

  constructor(
    private readonly deps: { database: Database; logger: Logger; policy: TargetPolicy; box: SecretBox; metrics?: Metrics | undefined },
    options: Partial<SenderOptions> = {},
  ) {
    this.#o = { ...DEFAULT_SENDER_OPTIONS, ...options };
    this.#loop = new DrainLoop({
      pollMs: this.#o.pollMs,
      onError: (e) => this.deps.logger.error({ err: e }, 'webhooks: sending failed'),
      step: async () => {
        const rows = await claimDeliveries(this.deps.database.db, this.#o.batch, this.#o.leaseMs);
        if (rows.length === 0) return false;
        const hooks = await webhooksByIds(this.deps.database.db, [...new Set(rows.map((r) => r.webhook_id))]);
        await Promise.all(rows.map((r) => this.#deliver(r, hooks.get(r.webhook_id))));
        return true;
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

  async #deliver(d: DeliveryRow, w: WebhookRow | undefined): Promise<void> {
    const db = this.deps.database.db;
    // Deleted meanwhile: its deliveries went with it (ON DELETE CASCADE).
    if (!w) return;
    let result: PostResult;
    try {
      result = await this.#attempt(d, w);
    } catch (e: unknown) {
      result = { ok: false, status: null, response: null, error: e instanceof AppError ? e.code : (e as Error).message };
    }
    const record = { status: result.status, error: result.error, response: result.response };
    if (result.ok) {
      await markDelivered(db, d.id, record);
      this.deps.metrics?.webhookDelivery('delivered');
      return;
    }
    const log = this.deps.logger.child({ webhookId: d.webhook_id, deliveryId: d.id, event: d.event_type });
    if (Date.now() - new Date(d.retry_from).getTime() > this.#o.giveUpMs) {
      log.error({ error: result.error, attempts: d.attempts }, 'webhook delivery failed for good');
      await markFailed(db, d.id, record);
      this.deps.metrics?.webhookDelivery('failed');
      return;
    }
    const delayMs = Math.min(this.#o.maxBackoffMs, this.#o.backoffMs * 2 ** Math.min(d.attempts - 1, 20));
    log.warn({ error: result.error, attempts: d.attempts, retryInMs: delayMs }, 'webhook delivery delayed');
    await markRetry(db, d.id, delayMs, record);
    this.deps.metrics?.webhookDelivery('retried');
  }

  async #attempt(d: DeliveryRow, w: WebhookRow): Promise<PostResult> {
    const url = new URL(w.url);
    // Again at every attempt: the name may resolve elsewhere now (DNS rebinding).
    const pins = await checkTarget(url, this.deps.policy);
    const body = deliveryBody(d);
    const t = Math.floor(Date.now() / 1000);
    return postJson(url, pins, {
      'user-agent': `cco-webhooks/${VERSION}`,
      'x-cco-event': d.event_type,
      'x-cco-delivery': String(d.id),
      'x-cco-signature': signature(this.deps.box.open(w.secret), body, t),
    }, body, this.#o.timeoutMs);
  }
}
