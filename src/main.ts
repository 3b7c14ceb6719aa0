/**
 * Composition root: config -> logger -> database -> domain (sessions, workspaces,
 * turn queue, runner) -> HTTP. The role (ROLE / --role) decides which parts run:
 * all of them (one machine), the API (HTTP, dashboard, hooks, live events; turns
 * are only queued) or the runner (turns from the queue; GET /health only).
 * Signals are handled here and only here: the first SIGINT/SIGTERM drains, a
 * second forces.
 */
import type { ApprovalsConfig } from './approvals/config.ts';
import { OPEN_POLICY } from './approvals/policy.ts';
import { ApprovalService } from './approvals/service.ts';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { buildApp } from './app.ts';
import { AuditLog } from './audit/audit-log.ts';
import { ensureFirstKey, firstKeyNotice, type FirstKey } from './auth/first-start.ts';
import { AuthService } from './auth/service.ts';
import { workspacesConfigFor, type Config, type RedactionConfig, type RunnerConfig, type WorkspacesConfig } from './config.ts';
import { openDatabase, type Database } from './db/database.ts';
import { useRedactor } from './db/text.ts';
import { migrate } from './db/migrate.ts';
import { EventBus } from './events/bus.ts';
import { LiveEvents, type LiveEventsOptions } from './events/live-events.ts';
import { HookIngest } from './hooks/ingest.ts';
import { createRedactor, type Redactor } from './lib/redact.ts';
import { SecretBox } from './lib/secret-box.ts';
import { createLogger, type Logger } from './logger.ts';
import { Metrics } from './metrics/metrics.ts';
import { startMetricsServer, type MetricsServer } from './metrics/http.ts';
import { Presence } from './db/presence.ts';
import { TurnQueue, type TurnQueueOptions } from './queue/turn-queue.ts';
import { ControlChannel } from './runner/control.ts';
import { TurnDispatch } from './runner/dispatch.ts';
import { startHealthServer, type HealthServer } from './runner/health.ts';
import { Runner, type RunnerHooks } from './runner/runner.ts';
import { SessionCommands } from './runner/session-commands.ts';
import { SessionService } from './sessions/service.ts';
import { SlackApp } from './slack/slack-app.ts';
import { WebhookApp } from './webhooks/webhook-app.ts';
import { WorkspaceManager } from './workspaces/manager.ts';
import type { WorkspacePort } from './workspaces/port.ts';
import type { AuthMode } from './auth/http.ts';
import { LOCAL_ADMIN } from './auth/principal.ts';
import { Budgets } from './budgets/budgets.ts';
import { systemClock, type Clock } from './lib/clock.ts';
import { Scheduler, type SchedulerOptions } from './schedules/scheduler.ts';
import { ScheduleService } from './schedules/service.ts';
import { SearchIndexer } from './sessions/search-indexer.ts';

export interface Core {
  events: EventBus;
  /** Carries `events` through the database to every process (start before use, stop before the database closes). */
  live: LiveEvents;
  sessions: SessionService;
  workspaces: WorkspacePort;
  /** The same object as `workspaces` when it is the real manager (diffs, disk use); undefined for a test double. */
  workspaceManager: WorkspaceManager | undefined;
  queue: TurnQueue;
  /** Started by processes that prepare workspaces (roles all and api). */
  presence: Presence;
  control: ControlChannel;
  dispatch: TurnDispatch;
  /** Started by roles all and runner only. */
  runner: Runner;
  commands: SessionCommands;
  hooks: HookIngest;
  audit: AuditLog;
  /** Schedules and budgets: the API's service, the loop that makes due runs (started by serving roles), the limits. */
  schedules: ScheduleService;
  scheduler: Scheduler;
  budgets: Budgets;
  /** This process's Prometheus metrics (GET /metrics; src/metrics). */
  metrics: Metrics;
  /** Approval requests: gates in runners, decisions through the API and Slack, the expiry sweep (every process). */
  approvals: ApprovalService;
  /** Gives stored messages and tool logs their search vectors, off the write path (every process). */
  searchIndexer: SearchIndexer;
}

/** The domain parts, wired; shared by the server and the integration tests. */
export function createCore(deps: {
  database: Database;
  logger: Logger;
  runner: RunnerConfig;
  resultMaxBytes: number;
  /** Workspace settings (the real WorkspaceManager) or a port double; default: the settings' defaults on runner.workspacesDir. */
  workspaces?: WorkspacesConfig | WorkspacePort | undefined;
  events?: EventBus | undefined;
  /** Live event log settings (LIVE_EVENTS_RETENTION_S; tests shorten the timers). */
  live?: LiveEventsOptions | undefined;
  /** Test seams for the runner (tests only). */
  runnerHooks?: RunnerHooks | undefined;
  /** REDACT_PATTERNS / REDACT_DISABLE; default: the built-in patterns. */
  redaction?: RedactionConfig | undefined;
  /** Only process on the database (the embedded default): a restart reports the last one's turns at once. */
  alone?: boolean | undefined;
  /** Queue timings (tests shorten them). */
  queue?: Partial<Omit<TurnQueueOptions, 'connectionString' | 'log'>> | undefined;
  /** Runner timings (tests shorten them): lost-notification backstop and reconciler. */
  runnerTimings?: { backstopMs?: number; reconcileMs?: number } | undefined;
  /** The time schedules and budgets go by (tests pass a ManualClock); default: the system clock. */
  clock?: Clock | undefined;
  /** SCHEDULE_TICK_S / SCHEDULE_MISSED_GRACE_S in ms; default 15 s and 300 s. */
  schedules?: Partial<SchedulerOptions> | undefined;
  /** AUTH: whose principal a schedule's runs act as (off: the local admin; keys: the owner's key). Default off. */
  authMode?: AuthMode | undefined;
  /** Node process metrics (CPU, memory, event loop) on /metrics: servers; tests leave them off. */
  processMetrics?: boolean | undefined;
  /** APPROVAL_* settings; default: no policy (every call as the permission mode says), 30 s wait, 24 h timeout. */
  approvals?: ApprovalsConfig | undefined;
  /** The clock approval requests are timed by, and how often they are swept (tests). */
  approvalTimings?: { clock?: () => Date; sweepMs?: number } | undefined;
}): Core {
  // Every row written from here on is redacted with the server's secrets and the configured patterns.
  useRedactor(redactorFor(deps.runner.secrets, deps.redaction));
  const events = deps.events ?? new EventBus();
  const live = new LiveEvents(deps.database, events, deps.logger, deps.live);
  const sessions = new SessionService(deps.database, events);
  const given = deps.workspaces ?? workspacesConfigFor(deps.runner.workspacesDir);
  const workspaceManager = 'prepare' in given ? undefined : new WorkspaceManager(given, deps.logger);
  const workspaces: WorkspacePort = workspaceManager ?? (given as WorkspacePort);
  const queue = new TurnQueue({ connectionString: deps.database.connectionString, log: deps.logger, ...deps.queue });
  // Every change made through SessionCommands is audited there, whoever asked (API, Slack, schedules).
  const audit = new AuditLog(deps.database, deps.logger);
  const presence = new Presence({ connectionString: deps.database.connectionString, log: deps.logger });
  // The runner is made below; the gauge reads it only at scrape time.
  const metrics: Metrics = new Metrics({ database: deps.database, logger: deps.logger, processMetrics: deps.processMetrics ?? false, runningHere: (): number => runner.running });
  events.onPublish((e) => metrics.onPublished(e));
  const control = new ControlChannel({ db: deps.database.db, connectionString: deps.database.connectionString, log: deps.logger });
  const dispatch = new TurnDispatch({ database: deps.database, sessions, queue, control, logger: deps.logger });
  const clock = deps.clock ?? systemClock;
  const budgets = new Budgets({ database: deps.database, clock, config: deps.runner.budgets ?? {} });
  const approvalsConfig = deps.approvals ?? { policy: OPEN_POLICY, waitMs: 30_000, timeoutS: 86_400 };
  const approvals = new ApprovalService({ database: deps.database, events, sessions, audit, logger: deps.logger, timeoutS: approvalsConfig.timeoutS, ...deps.approvalTimings });
  const runner: Runner = new Runner({
    database: deps.database,
    sessions,
    workspaces,
    logger: deps.logger,
    config: deps.runner,
    resultMaxBytes: deps.resultMaxBytes,
    hooks: deps.runnerHooks,
    queue,
    control,
    alone: deps.alone ?? false,
    backstopMs: deps.runnerTimings?.backstopMs,
    reconcileMs: deps.runnerTimings?.reconcileMs,
    // Through SessionCommands (made below, called only once turns run): audited, workspace released.
    closeAfterTurn: (sessionId, turnId) => commands.closeAfterTurn(sessionId, turnId),
    budgets,
    metrics,
    approvals: { service: approvals, config: approvalsConfig },
  });
  const commands = new SessionCommands({
    sessions,
    dispatch,
    preparer: presence.key,
    audit,
    workspaces,
    logger: deps.logger,
    defaults: { permission_mode: deps.runner.defaultPermissionMode, timeout_s: deps.runner.turnTimeoutS },
    policy: {
      allowDangerousModes: deps.runner.allowDangerousModes ?? false,
      allowProjectSettings: deps.runner.allowProjectSettings ?? false,
      ownerRoots: workspaceManager ? ((given as WorkspacesConfig).ownerRoots ?? []) : [],
    },
    budgets,
  });
  const schedules = new ScheduleService({ database: deps.database, clock, audit });
  const keys = new AuthService(deps.database.db, deps.logger);
  const scheduler = new Scheduler({
    database: deps.database,
    commands,
    clock,
    logger: deps.logger,
    // A run acts as its owner's key holder (the newest live key of that name), like a Slack user.
    principalFor: async (owner) => ((deps.authMode ?? 'off') === 'off' ? LOCAL_ADMIN : keys.principalForName(owner)),
    budgets: deps.runner.budgets,
    options: { tickMs: 15_000, missedGraceMs: 300_000, ...deps.schedules },
  });
  // A late decision continues its session through SessionCommands, like any other message (audited).
  approvals.setContinuer((row, prompt) => commands.continueAfterApproval(row, prompt));
  const hooks = new HookIngest(deps.database, events, sessions, { resultMaxBytes: deps.resultMaxBytes });
  // It holds back while rows are being written: the bus's position moves with every stored row, from any process.
  const searchIndexer = new SearchIndexer(deps.database, deps.logger, {}, () => events.lastId);
  return { events, live, sessions, workspaces, workspaceManager, queue, presence, control, dispatch, runner, commands, hooks, audit, metrics, approvals, schedules, scheduler, budgets, searchIndexer };
}

/** The redaction rules of this server: its own secret values plus the built-in and configured patterns. */
export function redactorFor(secrets: readonly string[] | undefined, redaction: RedactionConfig | undefined): Redactor {
  return createRedactor({ secrets, patterns: redaction?.patterns, disabled: redaction?.disabled });
}

export interface Server {
  readonly url: string;
  /** Undefined for ROLE=runner (it serves only GET /health). */
  readonly app: FastifyInstance | undefined;
  readonly database: Database;
  readonly core: Core;
  readonly auth: AuthService;
  /** Set on the first start under AUTH=keys: the admin key made now (cco serve prints it once). */
  readonly firstKey: FirstKey | undefined;
  /** METRICS_PORT's listener (GET /metrics without a key); undefined when unset. */
  readonly metricsUrl: string | undefined;
  stop(): Promise<void>;
}

const SHUTDOWN_DEADLINE_MS = 15_000;
/** The dashboard build (`npm run build:web`; npm start runs it when web/src is newer). */
export const WEB_ROOT = fileURLToPath(new URL('../web/dist', import.meta.url));

export async function startServer(config: Config, logger: Logger = serverLogger(config)): Promise<Server> {
  const role = config.process.role;
  const database = await openDatabase(config.db);
  let app: FastifyInstance | undefined;
  let health: HealthServer | undefined;
  let core: Core | undefined;
  let auth: AuthService | undefined;
  let slack: SlackApp | undefined;
  let webhooks: WebhookApp | undefined;
  let metricsServer: MetricsServer | undefined;
  try {
    const applied = await migrate(database.db);
    if (database.imported) {
      const { from, movedTo, rows } = database.imported;
      logger.info({ from, movedTo, rows }, `carried the PGlite data folder ${from} over to the embedded PostgreSQL (${rows.sessions ?? 0} sessions); the old folder is kept as ${movedTo}`);
    }
    logger.info({ backend: database.backend, applied, role }, 'database ready');
    auth = new AuthService(database.db, logger);
    const serves = role !== 'runner';
    const firstKey = serves && config.auth.mode === 'keys' ? await ensureFirstKey(auth, config.auth.publicUrl) : undefined;
    if (serves && config.auth.mode === 'off') logger.warn({ host: config.http.host }, 'AUTH=off: no API keys; anyone who can reach this loopback port is admin');
    core = createCore({
      database,
      logger,
      runner: config.runner,
      resultMaxBytes: config.resultMaxBytes,
      workspaces: config.workspaces,
      events: new EventBus(config.live.replay),
      live: { pruner: { retentionS: config.live.retentionS } },
      redaction: config.redaction,
      // The embedded database is held by this process alone (its data-folder lock).
      alone: database.backend === 'embedded',
      schedules: { tickMs: config.schedules.tickS * 1000, missedGraceMs: config.schedules.missedGraceS * 1000 },
      authMode: config.auth.mode,
      processMetrics: true,
      approvals: config.approvals,
    });
    // Every role writes live events; only processes that serve SSE read them back.
    await core.live.start({ read: serves });
    // Every process sweeps approvals (expiries, continuations): conditional writes make it once.
    core.approvals.start();
    // Processes that read live events index for search (concurrent indexers skip each other's rows):
    // they see every write on the bus, from any process, and hold back while writes go on. A runner
    // process reads none, so it could not tell a burst; the API processes do the indexing.
    if (serves) core.searchIndexer.start();
    await core.queue.start();
    // Before anything is prepared: others tell this process's unfinished preparations by its lock.
    if (serves) await core.presence.start();
    if (role !== 'api') {
      await core.runner.start();
      logger.info({ concurrency: config.runner.maxConcurrentRuns }, 'runner ready: taking turns from the queue');
    }
    let url: string;
    if (serves && config.slack) {
      slack = new SlackApp({ config: config.slack, database, events: core.events, commands: core.commands, sessions: core.sessions, auth, authMode: config.auth.mode, audit: core.audit, logger, approvals: core.approvals, metrics: core.metrics });
    }
    if (serves) webhooks = new WebhookApp({ config: config.webhooks, database, events: core.events, audit: core.audit, logger, box: SecretBox.load({ setting: config.secretsKey, dataDir: config.db.dataDir }), metrics: core.metrics });
    if (serves) {
      app = await buildApp({
        logger,
        database,
        sessions: core.sessions,
        commands: core.commands,
        audit: core.audit,
        workspaces: core.workspaceManager,
        hooks: core.hooks,
        bodyLimitBytes: config.http.bodyLimitBytes,
        requestTimeoutMs: config.http.requestTimeoutMs,
        waitMaxS: config.http.waitMaxS,
        // PUBLIC_URL's host is where people (and Slack) reach the server: always allowed.
        http: { host: config.http.host, allowedHosts: [...config.http.allowedHosts, new URL(config.auth.publicUrl).hostname], corsOrigins: config.http.corsOrigins },
        rateLimits: config.http.rateLimits,
        hstsMaxAgeS: config.http.hstsMaxAgeS,
        trustProxy: config.http.trustProxy,
        resultMaxBytes: config.resultMaxBytes,
        events: core.events,
        webRoot: WEB_ROOT,
        sse: config.live.streams,
        auth: { mode: config.auth.mode, service: auth, secureCookies: config.auth.publicUrl.startsWith('https:') },
        slack,
        webhooks,
        schedules: core.schedules,
        metrics: { metrics: core.metrics, token: config.metrics.token },
        approvals: core.approvals,
      });
      auth.start();
      url = await app.listen({ host: config.http.host, port: config.http.port });
      webhooks?.start();
      // Every serving process looks for due schedules; the database makes each run happen once.
      core.scheduler.start();
      if (slack) {
        await slack.start();
        logger.info({ mode: config.slack!.appToken ? 'socket' : 'http' }, config.slack!.appToken ? 'slack: connected over Socket Mode' : `slack: requests at ${config.auth.publicUrl}/slack/events`);
      }
      logger.info(
        { url, dashboard: url, docs: `${url}/docs`, database: database.location, role },
        `server listening: dashboard ${url}, API ${url}/api, docs ${url}/docs; database: ${database.location}; auth: ${config.auth.mode === 'keys' ? 'API keys' : 'off'}; role: ${role}`,
      );
    } else {
      health = await startHealthServer({ host: config.http.host, port: config.http.port, runner: core.runner, database, metrics: { metrics: core.metrics, access: { mode: config.auth.mode, auth, token: config.metrics.token } } });
      url = health.url;
      logger.info({ url, database: database.location, role }, `runner listening for health checks on ${url}/health; database: ${database.location}`);
    }
    if (config.metrics.port !== undefined) {
      metricsServer = await startMetricsServer({ host: config.metrics.host, port: config.metrics.port, metrics: core.metrics, logger });
      logger.info({ metrics: `${metricsServer.url}/metrics` }, `metrics without a key at ${metricsServer.url}/metrics`);
    }
    const running = core;
    const metricsListener = metricsServer;
    const keys = auth;
    const listening = app;
    const healthServer = health;
    const slackApp = slack;
    const webhookApp = webhooks;
    let stopping: Promise<void> | undefined;
    return {
      url,
      app: listening,
      database,
      core: running,
      auth: keys,
      firstKey,
      metricsUrl: metricsListener?.url,
      stop() {
        // Reverse order of start: stop intake, let running turns finish (drain) or record their
        // interruption, then the queue, then the database.
        stopping ??= (async () => {
          await listening?.close();
          await running.scheduler.stop();
          await slackApp?.stop();
          await webhookApp?.stop();
          await running.commands.stop();
          await running.presence.stop();
          await running.runner.stop(config.process.drainTimeoutS * 1000);
          await running.approvals.stop();
          await running.searchIndexer.stop();
          await running.queue.stop();
          await healthServer?.close();
          await metricsListener?.close();
          await keys.stop();
          // Last before the database: everything above may still have recorded entries.
          await running.audit.stop();
          await running.live.stop();
          await database.close();
        })();
        return stopping;
      },
    };
  } catch (e: unknown) {
    await app?.close().catch(() => {});
    await core?.scheduler.stop().catch(() => {});
    await slack?.stop().catch(() => {});
    await webhooks?.stop().catch(() => {});
    await health?.close().catch(() => {});
    await metricsServer?.close().catch(() => {});
    await core?.runner.stop().catch(() => {});
    await core?.queue.stop(1000).catch(() => {});
    await core?.presence.stop().catch(() => {});
    await core?.approvals.stop().catch(() => {});
    await core?.searchIndexer.stop().catch(() => {});
    await core?.audit.stop().catch(() => {});
    await core?.live.stop().catch(() => {});
    await database.close().catch(() => {});
    throw e;
  }
}

/** The server's logger: its lines are redacted with the same rules as stored text. */
export function serverLogger(config: Config): Logger {
  return createLogger(config.logLevel, { redactor: redactorFor(config.runner.secrets, config.redaction) });
}

/** Runs the server until a signal; used by `cco serve`. */
export async function runServer(config: Config): Promise<void> {
  const logger = serverLogger(config);
  const server = await startServer(config, logger);
  if (server.firstKey) process.stdout.write(`${firstKeyNotice(server.firstKey)}\n`);
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    signals += 1;
    if (signals > 1) {
      logger.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    logger.info({ signal }, 'shutting down');
    // A drain lets running turns finish first; the deadline covers it.
    const deadlineMs = SHUTDOWN_DEADLINE_MS + config.process.drainTimeoutS * 1000;
    const deadline = setTimeout(() => {
      logger.error({ deadlineMs }, 'shutdown deadline passed: exiting');
      process.exit(1);
    }, deadlineMs);
    deadline.unref();
    server.stop().then(
      () => process.exit(0),
      (e: unknown) => {
        logger.error({ err: e }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}
