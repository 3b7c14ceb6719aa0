/**
 * buildApp(deps) assembles the Fastify instance: validation, error mapping,
 * OpenAPI, and the routes. It never listens, so tests drive it with inject().
 */
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { jsonSchemaTransform, serializerCompiler, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import type { AuditLog } from './audit/audit-log.ts';
import { registerAuth, registerSessionScope, type AuthMode } from './auth/http.ts';
import { SessionAccess } from './auth/session-access.ts';
import { AuthService } from './auth/service.ts';
import type { Database } from './db/database.ts';
import type { HookIngest } from './hooks/ingest.ts';
import { clientErrorHandler, frameworkErrorHandler, registerErrorHandling } from './http/errors.ts';
import { DEFAULT_GUARD_OPTIONS, genRequestId, registerGuards, type HttpGuardOptions } from './http/guards.ts';
import { dropUnusedConnectionsOnClose } from './http/unused-connections.ts';
import { auditRoutes } from './http/routes/audit.ts';
import { authRoutes } from './http/routes/auth.ts';
import { eventRoutes } from './http/routes/events.ts';
import { healthRoutes } from './http/routes/health.ts';
import { hookRoutes } from './http/routes/hooks.ts';
import { sessionEventRoutes } from './http/routes/session-events.ts';
import { sessionRoutes } from './http/routes/sessions.ts';
import { SessionSearch } from './sessions/search.ts';
import { exportRoutes } from './http/routes/export.ts';
import { SessionExport } from './export/export.ts';
import { workspaceRoutes } from './http/routes/workspaces.ts';
import { DEFAULT_SSE_OPTIONS, SseStreams, type SseOptions } from './http/sse.ts';
import { DEFAULT_RATE_LIMITS, registerRateLimits, type RateLimitOptions } from './http/rate-limits.ts';
import { registerSecurityHeaders } from './http/security-headers.ts';
import { registerRefusalAudit } from './http/refused-audit.ts';
import { registerRequestTimeout } from './http/timeout.ts';
import { Idempotency } from './http/idempotency.ts';
import { RunWait } from './http/run-wait.ts';
import { TurnWaiter } from './sessions/turn-waiter.ts';
import { dashboardBuilt, registerDashboard } from './http/web.ts';
import type { EventBus } from './events/bus.ts';
import type { Logger } from './logger.ts';
import { registerMetrics } from './metrics/http.ts';
import type { Metrics } from './metrics/metrics.ts';
import type { SessionCommands } from './runner/session-commands.ts';
import type { SessionService } from './sessions/service.ts';
import type { SlackApp } from './slack/slack-app.ts';
import type { WebhookApp } from './webhooks/webhook-app.ts';
import type { ApprovalService } from './approvals/service.ts';
import { approvalRoutes } from './http/routes/approvals.ts';
import type { WorkspaceManager } from './workspaces/manager.ts';
import { VERSION } from './version.ts';
import { scheduleRoutes } from './http/routes/schedules.ts';
import type { ScheduleService } from './schedules/service.ts';

export interface AppDeps {
  logger: Logger;
  database: Database;
  sessions: SessionService;
  hooks: HookIngest;
  commands: SessionCommands;
  /** The audit log: routes record changes into it; refused requests (401, 403, 429) are recorded by a hook. */
  audit: AuditLog;
  bodyLimitBytes: number;
  /** REQUEST_TIMEOUT_MS: unanswered requests get 503 after this (0: never); event streams are exempt. */
  requestTimeoutMs?: number | undefined;
  resultMaxBytes: number;
  /** Serves diffs and disk use; without it those routes are absent. */
  workspaces?: WorkspaceManager | undefined;
  events: EventBus;
  /** The built dashboard (web/dist); unset or unbuilt: `/` explains how to build it. */
  webRoot?: string | undefined;
  sse?: Partial<SseOptions> | undefined;
  /** Host check and CORS (HOST, ALLOWED_HOSTS, CORS_ORIGINS); default: loopback names and IPs, no CORS. */
  http?: Partial<HttpGuardOptions> | undefined;
  /** AUTH and the key store; default: AUTH=off (everyone is the local admin) over deps.database. */
  auth?: { mode: AuthMode; service: AuthService; secureCookies?: boolean | undefined } | undefined;
  /** Who may see which session; default: one over deps.database. */
  access?: SessionAccess | undefined;
  /** RATE_LIMIT_PER_MIN, RATE_LIMIT_HOOKS_PER_MIN, AUTH_FAILURES_PER_MIN; default DEFAULT_RATE_LIMITS. */
  rateLimits?: Partial<RateLimitOptions> | undefined;
  /** HSTS_MAX_AGE_S: Strict-Transport-Security max-age; 0 or unset: no HSTS (plain HTTP). */
  hstsMaxAgeS?: number | undefined;
  /** TRUST_PROXY: which proxies' X-Forwarded-For sets req.ip (rate limits, audit); default none. */
  trustProxy?: string[] | number | false | undefined;
  /** WAIT_MAX_S: the longest `wait` a request may ask for (default 600). */
  waitMaxS?: number | undefined;
  /** The Slack app in HTTP mode mounts POST /slack/events here. */
  slack?: SlackApp | undefined;
  /** Outgoing webhooks: /api/webhooks (absent without it). */
  webhooks?: WebhookApp | undefined;
  /** /api/schedules (absent without it) and /api/usage. */
  schedules?: ScheduleService | undefined;
  /** GET /metrics and request durations (absent without it); `token`: METRICS_TOKEN. */
  metrics?: { metrics: Metrics; token?: string | undefined } | undefined;
  /** Approval requests: /api/approvals (absent without it). */
  approvals?: ApprovalService | undefined;
}

const trustHops = (n: number) => (_address: string, hop: number) => hop < n;

export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const app = Fastify({ loggerInstance: deps.logger as FastifyBaseLogger, bodyLimit: deps.bodyLimitBytes,
    // Also bounds how long a client may take to send its request (node's requestTimeout).
    requestTimeout: deps.requestTimeoutMs ?? 0,
    // Per-request lines would dominate the log at hook rates; errors are still logged by the error handler.
    logController: new LogController({ disableRequestLogging: true }),
    // A random id per request: logged as reqId, returned as x-request-id (and in 5xx bodies).
    genReqId: genRequestId,
    frameworkErrors: frameworkErrorHandler,
    clientErrorHandler,
    // A hop count trusts that many proxies nearest the server, whatever their address.
    trustProxy: typeof deps.trustProxy === 'number' ? trustHops(deps.trustProxy) : (deps.trustProxy ?? false),
  });
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  registerErrorHandling(app, { dashboard: dashboardBuilt(deps.webRoot) });
  registerRequestTimeout(app, deps.requestTimeoutMs ?? 0);
  // Before the guards, so their 403s carry the headers too.
  await registerSecurityHeaders(app, { hstsMaxAgeS: deps.hstsMaxAgeS ?? 0 });
  // Before the guards: a request they refuse still gets its onResponse hook, so it is recorded too.
  registerRefusalAudit(app, deps.audit);
  registerGuards(app, { ...DEFAULT_GUARD_OPTIONS, ...deps.http });
  // Before any route (each route gets its check as it is declared) and before the auth hook
  // (the failed-sign-in check must refuse first); see src/http/rate-limits.ts.
  await registerRateLimits(app, { ...DEFAULT_RATE_LIMITS, ...deps.rateLimits });
  const auth = deps.auth ?? { mode: 'off' as const, service: new AuthService(deps.database.db, deps.logger) };
  const access = deps.access ?? new SessionAccess(deps.database.db);
  const secureCookies = auth.secureCookies ?? false;
  registerAuth(app, { mode: auth.mode, auth: auth.service, secureCookies });
  registerSessionScope(app, access);
  // Before any route: every route's requests are timed.
  if (deps.metrics) registerMetrics(app, deps.metrics.metrics, { mode: auth.mode, auth: auth.service, token: deps.metrics.token });
  // The API speaks JSON only; any other body type is a 415, not a confusing validation error.
  app.removeContentTypeParser('text/plain');

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: 'Claude Code Orchestrator API', version: VERSION, description: 'Sessions, conversations and tool logs of Claude Code runs.' },
    },
    transform: jsonSchemaTransform,
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  app.get('/api/openapi.json', { schema: { hide: true }, config: { access: 'public' } }, async () => app.swagger());

  const typed = app.withTypeProvider<ZodTypeProvider>();
  await typed.register(healthRoutes, { database: deps.database, version: VERSION });
  await typed.register(authRoutes, { auth: auth.service, mode: auth.mode, secureCookies, audit: deps.audit });
  // Waits end (202) when the server stops, so close() is not held by them.
  const waiter = new TurnWaiter({ database: deps.database, events: deps.events });
  app.addHook('preClose', async () => waiter.closeAll());
  app.addHook('onClose', async () => waiter.stop());
  const runWait = new RunWait({ sessions: deps.sessions, commands: deps.commands, waiter, idempotency: new Idempotency({ database: deps.database, logger: deps.logger }), waitMaxS: deps.waitMaxS ?? 600 });
  await typed.register(sessionRoutes, { sessions: deps.sessions, commands: deps.commands, runWait, search: new SessionSearch(deps.database) });
  await typed.register(hookRoutes, { sessions: deps.sessions, hooks: deps.hooks, resultMaxBytes: deps.resultMaxBytes, metrics: deps.metrics?.metrics });
  await typed.register(sessionEventRoutes, { hooks: deps.hooks });
  await typed.register(exportRoutes, { exporter: new SessionExport(deps.database) });
  if (deps.workspaces) await typed.register(workspaceRoutes, { sessions: deps.sessions, workspaces: deps.workspaces });
  await typed.register(auditRoutes, { audit: deps.audit });
  if (deps.approvals) await typed.register(approvalRoutes, { approvals: deps.approvals });
  if (deps.slack) await deps.slack.registerRoutes(app);
  if (deps.webhooks) await deps.webhooks.registerRoutes(app);
  if (deps.schedules) await typed.register(scheduleRoutes, { schedules: deps.schedules, database: deps.database });
  const streams = new SseStreams(deps.events, { ...DEFAULT_SSE_OPTIONS, ...deps.sse }, access);
  // Open event streams never end by themselves; end them first so close() does not wait on them.
  // Nor on connections that never sent a request (unused-connections.ts).
  dropUnusedConnectionsOnClose(app);
  app.addHook('preClose', async () => streams.closeAll());
  await typed.register(eventRoutes, { streams, access });
  await registerDashboard(app, deps.webRoot);
  return app;
}
