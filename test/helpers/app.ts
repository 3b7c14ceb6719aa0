/** Builds the real app on a fresh test database; requests go through app.inject(). */
import type { ApprovalsConfig } from '../../src/approvals/config.ts';
import fs from 'node:fs';
import { Writable } from 'node:stream';
import pino from 'pino';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/app.ts';
import type { AuthMode } from '../../src/auth/http.ts';
import { AuthService } from '../../src/auth/service.ts';
import { workspacesConfigFor, type RedactionConfig, type RunnerConfig, type WorkspacesConfig } from '../../src/config.ts';
import { EventBus, type EventBusOptions } from '../../src/events/bus.ts';
import type { LiveEventsOptions } from '../../src/events/live-events.ts';
import type { HttpGuardOptions } from '../../src/http/guards.ts';
import { NO_RATE_LIMITS, type RateLimitOptions } from '../../src/http/rate-limits.ts';
import type { SseOptions } from '../../src/http/sse.ts';
import { createLogger, type Logger } from '../../src/logger.ts';
import { createCore, type Core } from '../../src/main.ts';
import type { RunnerHooks } from '../../src/runner/runner.ts';
import type { WorkspacePort } from '../../src/workspaces/port.ts';
import { createTestDb, TEST_BACKEND, type TestDb } from './db.ts';
import type { Clock } from '../../src/lib/clock.ts';
import type { SchedulerOptions } from '../../src/schedules/scheduler.ts';

export interface TestApp extends Core {
  app: FastifyInstance;
  auth: AuthService;
  db: TestDb;
  workspacesDir: string;
  close(): Promise<void>;
}

export interface TestAppOptions {
  bodyLimitBytes?: number;
  requestTimeoutMs?: number;
  resultMaxBytes?: number;
  runner?: Partial<RunnerConfig>;
  /** A port double, or workspace settings; default: the real WorkspaceManager on workspacesDir, ALLOWED_ROOTS = the temp folder. */
  workspaces?: WorkspacePort | Partial<WorkspacesConfig>;
  /** Reuse a database (restart tests); it is not closed by close(). */
  db?: TestDb;
  /** Ring buffer size of the event bus (small to test SSE resets). */
  eventCapacity?: number;
  /** Other replay buffer bounds of the event bus. */
  events?: Partial<EventBusOptions>;
  /** Live event log, reader and pruner settings. */
  live?: LiveEventsOptions;
  /** The built dashboard to serve (test/helpers/browser.ts). */
  webRoot?: string;
  sse?: Partial<SseOptions>;
  /** A logger to inspect (default: silent, or TEST_LOG_LEVEL). */
  logger?: Logger;
  /** Host check and CORS settings (default: loopback names and IPs, no CORS). */
  http?: Partial<HttpGuardOptions>;
  /**
   * Abuse limits; default: all off (NO_RATE_LIMITS), since tests fire requests far faster
   * than a person (test/hostile-requests.test.ts sends ~1,800). test/abuse-limits.test.ts sets them.
   */
  rateLimits?: Partial<RateLimitOptions>;
  /** TRUST_PROXY (default: none). */
  trustProxy?: string[] | number;
  hstsMaxAgeS?: number;
  /** Seams that let a test force an interleaving inside a turn. */
  runnerHooks?: RunnerHooks;
  /** AUTH (default off: every request is the local admin). With keys, use `auth` to make keys and `as()` to call with one. */
  auth?: AuthMode;
  /** REDACT_PATTERNS / REDACT_DISABLE (default: the built-in patterns only). */
  redaction?: RedactionConfig;
  /** The clock of schedules and budgets (a ManualClock in their tests). */
  clock?: Clock;
  /** Scheduler timings; default: no loop (tickMs 0), so only tests of schedules make runs. */
  schedules?: Partial<SchedulerOptions>;
  /** APPROVAL_* settings, and a clock and sweep interval for approval requests. */
  approvals?: ApprovalsConfig;
  approvalTimings?: { clock?: () => Date; sweepMs?: number };
}

export async function createTestApp(opts: TestAppOptions = {}): Promise<TestApp> {
  const db = opts.db ?? (await createTestDb());
  const logger = opts.logger ?? createLogger(process.env.TEST_LOG_LEVEL ?? 'silent', { pretty: false });
  const workspacesDir = opts.runner?.workspacesDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'cco-ws-'));
  const runner: RunnerConfig = {
    workspacesDir,
    maxConcurrentRuns: 4,
    turnTimeoutS: 120,
    turnStallWarnS: 120,
    defaultPermissionMode: 'acceptEdits',
    claudePath: undefined,
    envFile: undefined,
    passEnv: {},
    allowDangerousModes: false,
    allowProjectSettings: false,
    secrets: [],
    ...opts.runner,
  };
  const resultMaxBytes = opts.resultMaxBytes ?? 50 * 1024;
  const workspaces = opts.workspaces && 'prepare' in opts.workspaces
    ? opts.workspaces
    : { ...workspacesConfigFor(workspacesDir, [fs.realpathSync(os.tmpdir())]), ...opts.workspaces };
  let core: Core;
  try {
    core = createCore({
      database: db.database,
      logger,
      runner,
      resultMaxBytes,
      workspaces,
      events: new EventBus({ capacity: opts.eventCapacity, ...opts.events }),
      live: opts.live,
      runnerHooks: opts.runnerHooks,
      redaction: opts.redaction,
      // As in production: the embedded database is this process's alone, a server's is shared.
      alone: TEST_BACKEND === 'embedded',
      // Faster than production so tests of lost runners and notifications finish in seconds.
      queue: { superviseSeconds: 1, pollingSeconds: 0.5 },
      runnerTimings: { backstopMs: 1000, reconcileMs: 2000 },
      clock: opts.clock,
      schedules: { tickMs: 0, ...opts.schedules },
      authMode: opts.auth ?? 'off',
      approvals: opts.approvals,
      approvalTimings: opts.approvalTimings ?? { sweepMs: 200 },
    });
  } catch (e: unknown) {
    if (!opts.db) await db.close();
    throw e;
  }
  await core.live.start();
  await core.queue.start();
  await core.presence.start();
  await core.runner.start();
  core.approvals.start();
  const auth = new AuthService(db.database.db, logger);
  const app = await buildApp({
    auth: { mode: opts.auth ?? 'off', service: auth },
    logger,
    database: db.database,
    sessions: core.sessions,
    commands: core.commands,
    audit: core.audit,
    workspaces: core.workspaceManager,
    hooks: core.hooks,
    bodyLimitBytes: opts.bodyLimitBytes ?? 5 * 1024 * 1024,
    requestTimeoutMs: opts.requestTimeoutMs,
    resultMaxBytes,
    events: core.events,
    webRoot: opts.webRoot,
    sse: opts.sse,
    http: opts.http,
    rateLimits: { ...NO_RATE_LIMITS, ...opts.rateLimits },
    trustProxy: opts.trustProxy,
    hstsMaxAgeS: opts.hstsMaxAgeS,
    schedules: core.schedules,
    approvals: core.approvals,
  });
  await app.ready();
  core.scheduler.start();
  return {
    ...core,
    app,
    auth,
    db,
    workspacesDir,
    async close() {
      await app.close();
      await core.scheduler.stop();
      await core.commands.stop();
      await core.presence.stop();
      await core.runner.stop();
      await core.approvals.stop();
      await core.queue.stop(2000);
      await core.audit.stop();
      await core.live.stop();
      if (!opts.db) await db.close();
    },
  };
}

/** inject() shorthand returning status and parsed JSON; `key` is sent as Authorization: Bearer. */
export async function call(app: FastifyInstance, method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, body?: unknown, key?: string) {
  const headers = key === undefined ? {} : { authorization: `Bearer ${key}` };
  const res = await app.inject({ method, url, headers, ...(body !== undefined ? { payload: body as object } : {}) });
  let json: unknown;
  try {
    json = res.json();
  } catch {
    json = undefined;
  }
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  return { status: res.statusCode, body: json as any, headers: res.headers };
}

/**
 * Waits until a session's workspace is no longer `preparing` (github, worktree and e2b workspaces
 * are made in the background) and returns the session as the API shows it then.
 */
export async function workspaceSettled(app: FastifyInstance, id: string, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const s = await call(app, 'GET', `/api/sessions/${id}`);
    if (s.body.metadata?.workspace?.state !== 'preparing') return s.body;
    if (Date.now() > deadline) throw new Error(`session ${id}: workspace still preparing after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** A pino logger at `level` whose JSON lines are collected in `lines`, for tests that assert on the log. */
export function capturingLogger(level: string): { logger: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString().split('\n')) if (l.trim()) lines.push(JSON.parse(l) as Record<string, unknown>);
      done();
    },
  });
  return { logger: pino({ level }, sink), lines };
}

/** One key per role (names admin-k, alice, bob, viewer-k, hook-k; the hook token's sessions belong to alice). */
export async function roleKeys(auth: AuthService) {
  const make = async (name: string, role: 'admin' | 'user' | 'viewer' | 'hook', owner?: string) => (await auth.createKey({ name, role, owner })).key;
  return {
    admin: await make('admin-k', 'admin'),
    alice: await make('alice', 'user'),
    bob: await make('bob', 'user'),
    viewer: await make('viewer-k', 'viewer'),
    hook: await make('hook-k', 'hook', 'alice'),
  };
}
