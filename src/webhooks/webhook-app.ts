/**
 * Outgoing webhooks, wired: the subscription service (routes), the deriver (stored state →
 * queued deliveries) and the sender (queue → receivers). Started by processes that serve HTTP
 * (roles all and api) after they listen, stopped before the database closes; with several API
 * processes each runs all three, and the database makes each delivery happen once.
 */
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { AuditLog } from '../audit/audit-log.ts';
import type { Database } from '../db/database.ts';
import type { EventBus } from '../events/bus.ts';
import { webhookRoutes } from '../http/routes/webhooks.ts';
import type { SecretBox } from '../lib/secret-box.ts';
import type { Logger } from '../logger.ts';
import type { Metrics } from '../metrics/metrics.ts';
import type { WebhooksConfig } from './config.ts';
import { WebhookDeriver, type DeriverOptions } from './deriver.ts';
import { WebhookSender, type SenderOptions } from './sender.ts';
import { WebhookService } from './service.ts';

export interface WebhookAppDeps {
  config: WebhooksConfig;
  database: Database;
  events: EventBus;
  audit: AuditLog;
  logger: Logger;
  /** Seals signing secrets before they are stored and opens them to sign (SECRETS_KEY or DATA_DIR/secrets.key). */
  box: SecretBox;
  /** Counts delivery attempts (cco_webhook_deliveries_total). */
  metrics?: Metrics | undefined;
  /** Test timings. */
  sender?: Partial<Omit<SenderOptions, 'timeoutMs'>> | undefined;
  deriver?: Partial<Omit<DeriverOptions, 'publicUrl'>> | undefined;
}

export class WebhookApp {
  readonly service: WebhookService;
  readonly deriver: WebhookDeriver;
  readonly sender: WebhookSender;
  #started = false;

  constructor(deps: WebhookAppDeps) {
    const log = deps.logger.child({ component: 'webhooks' });
    const policy = { allowPrivateHosts: deps.config.allowPrivateHosts };
    this.sender = new WebhookSender({ database: deps.database, logger: log, policy, box: deps.box, metrics: deps.metrics }, { ...deps.sender, timeoutMs: deps.config.timeoutMs });
    this.deriver = new WebhookDeriver(
      { database: deps.database, events: deps.events, logger: log, onQueued: () => this.sender.kick() },
      { debounceMs: 10, sweepMs: 5000, sweepWindowS: 24 * 3600, ...deps.deriver, publicUrl: deps.config.publicUrl },
    );
    this.service = new WebhookService({
      database: deps.database, audit: deps.audit, policy, box: deps.box,
      onChange: () => this.deriver.forget(),
      onRequeued: () => this.sender.kick(),
    });
  }

  async registerRoutes(app: FastifyInstance): Promise<void> {
    await app.withTypeProvider<ZodTypeProvider>().register(webhookRoutes, { webhooks: this.service });
  }

  start(): void {
    if (this.#started) return;
    this.#started = true;
    this.sender.start();
    this.deriver.start();
    // Sessions that moved while no process was running catch up now.
    void this.deriver.sweep();
  }

  async stop(): Promise<void> {
    if (!this.#started) return;
    this.#started = false;
    await this.deriver.stop();
    await this.sender.stop();
  }
}
