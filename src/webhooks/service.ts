/**
 * Webhook subscriptions and their deliveries, for a principal: a user key sees and changes only
 * its own subscriptions (another's is a 404, its existence not revealed) and they get only its
 * own sessions' events; an admin's see everything. Made and removed subscriptions are audited.
 */
import { randomUUID } from 'node:crypto';
import type { AuditLog } from '../audit/audit-log.ts';
import type { Principal } from '../auth/principal.ts';
import type { Database } from '../db/database.ts';
import { deleteWebhook, findDelivery, findWebhook, insertWebhook, listDeliveries, listWebhooks, requeueDelivery, type DeliveryRow, type WebhookRow } from '../db/queries/webhooks.ts';
import { decodeCursor, encodeCursor, isIdCursor } from '../lib/cursor.ts';
import { AppError, conflict, notFound } from '../lib/errors.ts';
import type { WebhookEventType } from './events.ts';
import { newSecret } from './signature.ts';
import { checkTarget, parseTargetUrl, type TargetPolicy } from './target.ts';
import type { SecretBox } from '../lib/secret-box.ts';

/** Subscriptions one owner may have: enough for any real use, a bound on fan-out. */
export const MAX_WEBHOOKS_PER_OWNER = 50;

export interface WebhookView {
  id: string;
  url: string;
  events: string[];
  description: string | null;
  owner: string;
  created_by: string;
  created_at: string;
}

export const DELIVERY_STATES = ['pending', 'sending', 'delivered', 'failed'] as const;
export type DeliveryState = (typeof DELIVERY_STATES)[number];

export interface DeliveryView {
  id: number;
  event_id: string;
  event_type: string;
  session_id: string;
  state: DeliveryState;
  attempts: number;
  next_attempt_at: string | null;
  last_status: number | null;
  last_error: string | null;
  last_response: string | null;
  last_attempt_at: string | null;
  created_at: string;
  delivered_at: string | null;
}

const iso = (d: Date | null) => (d ? new Date(d).toISOString() : null);

export const toWebhookView = (w: WebhookRow): WebhookView => ({
  id: w.id, url: w.url, events: w.events, description: w.description, owner: w.owner, created_by: w.created_by, created_at: new Date(w.created_at).toISOString(),
});

export const toDeliveryView = (d: DeliveryRow): DeliveryView => ({
  id: Number(d.id),
  event_id: d.event_key,
  event_type: d.event_type,
  session_id: d.session_id,
  state: d.state as DeliveryState,
  attempts: d.attempts,
  next_attempt_at: d.state === 'pending' ? iso(d.next_attempt_at) : null,
  last_status: d.last_status,
  last_error: d.last_error,
  last_response: d.last_response,
  last_attempt_at: iso(d.last_attempt_at),
  created_at: new Date(d.created_at).toISOString(),
  delivered_at: iso(d.delivered_at),
});

interface Origin {
  address: string;
  requestId: string;
}

export class WebhookService {
  constructor(private readonly deps: { database: Database; audit: AuditLog; policy: TargetPolicy; box: SecretBox; onChange: () => void; onRequeued: () => void }) {}

  async create(p: Principal, input: { url: string; events: WebhookEventType[]; description?: string | undefined }, origin: Origin): Promise<WebhookView & { secret: string }> {
    const url = parseTargetUrl(input.url);
    await checkTarget(url, this.deps.policy);
    const db = this.deps.database.db;
    if ((await listWebhooks(db, p.owner)).length >= MAX_WEBHOOKS_PER_OWNER) {
      throw conflict('too_many_webhooks', `an owner may have at most ${MAX_WEBHOOKS_PER_OWNER} webhooks; delete one first`);
    }
    const secret = newSecret();
    const row = await insertWebhook(db, {
      // Stored sealed (src/lib/secret-box.ts): the database never holds it readable.
      id: randomUUID(), url: url.toString(), events: [...new Set(input.events)], description: input.description ?? null, secret: this.deps.box.seal(secret),
      owner: p.owner, role: p.role, key_id: p.keyId ?? null, created_by: p.name,
    });
    this.deps.onChange();
    // Never the secret: the audit log is readable by admins, the secret is the subscriber's.
    this.deps.audit.record({ actor: p, ...origin, action: 'webhook.created', target: `webhook:${row.id}`, detail: { url: row.url, events: row.events } });
    return { ...toWebhookView(row), secret };
  }

  async list(p: Principal): Promise<WebhookView[]> {
    return (await listWebhooks(this.deps.database.db, p.role === 'admin' ? undefined : p.owner)).map(toWebhookView);
  }

  async get(p: Principal, id: string): Promise<WebhookRow> {
    const w = await findWebhook(this.deps.database.db, id);
    if (!w || (p.role !== 'admin' && w.owner !== p.owner)) throw notFound('webhook', id);
    return w;
  }

  async remove(p: Principal, id: string, origin: Origin): Promise<WebhookView> {
    await this.get(p, id);
    const row = await deleteWebhook(this.deps.database.db, id);
    if (!row) throw notFound('webhook', id);
    this.deps.onChange();
    this.deps.audit.record({ actor: p, ...origin, action: 'webhook.deleted', target: `webhook:${id}`, detail: { url: row.url } });
    return toWebhookView(row);
  }

  async deliveries(p: Principal, id: string, q: { limit: number; cursor?: string | undefined; state?: string | undefined }): Promise<{ data: DeliveryView[]; next_cursor: string | null }> {
    await this.get(p, id);
    const beforeId = q.cursor ? decodeCursor(q.cursor, isIdCursor) : undefined;
    const rows = await listDeliveries(this.deps.database.db, id, { limit: q.limit + 1, beforeId, state: q.state });
    const page = rows.slice(0, q.limit);
    const last = page.at(-1);
    return { data: page.map(toDeliveryView), next_cursor: rows.length > q.limit && last ? encodeCursor(Number(last.id)) : null };
  }

  async redeliver(p: Principal, id: string, deliveryId: number, origin: Origin): Promise<DeliveryView> {
    await this.get(p, id);
    const db = this.deps.database.db;
    const d = await requeueDelivery(db, id, deliveryId);
    if (!d) {
      if (!(await findDelivery(db, id, deliveryId))) throw notFound('delivery', `${deliveryId} of webhook ${id}`);
      throw new AppError('delivery_in_flight', 'the delivery is being sent right now; look at it again in a moment', 409);
    }
    this.deps.onRequeued();
    this.deps.audit.record({ actor: p, ...origin, action: 'webhook.redelivered', target: `webhook:${id}`, detail: { delivery: deliveryId, event: d.event_key } });
    return toDeliveryView(d);
  }
}
