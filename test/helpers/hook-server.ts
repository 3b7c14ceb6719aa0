/**
 * A real listening orchestrator server on a fresh test database that can be
 * stopped and started again on the same port (an outage), for the forwarder
 * and end-to-end hook tests; plus helpers to run the forwarder script.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/app.ts';
import { AuthService } from '../../src/auth/service.ts';
import os from 'node:os';
import path from 'node:path';
import type { RunnerConfig } from '../../src/config.ts';
import type { EventBus, OrchestratorEvent } from '../../src/events/bus.ts';
import { forwarderShell, PACKAGED_SCRIPT } from '../../src/hooks/installer.ts';
import { createLogger } from '../../src/logger.ts';
import { createCore } from '../../src/main.ts';
import { createTestDb, type TestDb } from './db.ts';

export interface HookServer {
  url: string;
  db: TestDb;
  auth: AuthService;
  events: EventBus;
  published: OrchestratorEvent[];
  /** Requests received per path, counting redeliveries. */
  requests: string[];
  /** Set by a test to answer some requests itself (a refusal, a failure) before the app sees them. */
  respond: ((url: string, body: unknown) => { status: number; body: unknown } | undefined) | undefined;
  stop(): Promise<void>;
  start(): Promise<void>;
  close(): Promise<void>;
}

/** keys: the server runs with AUTH=keys over its own key store (`auth`); default AUTH=off. */
export async function startHookServer(opts: { keys?: boolean } = {}): Promise<HookServer> {
  const db = await createTestDb();
  const auth = new AuthService(db.database.db);
  const logger = createLogger(process.env.TEST_LOG_LEVEL ?? 'silent', { pretty: false });
  const workspacesDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cco-ws-'));
  const runner: RunnerConfig = {
    workspacesDir, maxConcurrentRuns: 1, turnTimeoutS: 60, defaultPermissionMode: 'acceptEdits', claudePath: undefined, envFile: undefined, passEnv: {},
  };
  // The runner is built but never started: these tests only post hook events.
  const core = createCore({ database: db.database, logger, runner, resultMaxBytes: 50 * 1024 });
  await core.live.start();
  const published: OrchestratorEvent[] = [];
  core.events.subscribe((e) => published.push(e));
  const requests: string[] = [];
  let app: FastifyInstance | undefined;
  let port = 0;
  const start = async () => {
    const a = await buildApp({
      logger,
      database: db.database,
      sessions: core.sessions,
      commands: core.commands,
      audit: core.audit,
      hooks: core.hooks,
      bodyLimitBytes: 5 * 1024 * 1024,
      resultMaxBytes: 50 * 1024,
      events: core.events,
      auth: { mode: opts.keys ? 'keys' : 'off', service: auth },
    });
    a.addHook('onRequest', async (req) => {
      requests.push(req.url);
    });
    a.addHook('preValidation', async (req, reply) => {
      const forced = server.respond?.(req.url, req.body);
      if (!forced) return;
      await reply.code(forced.status).send(forced.body);
      return reply;
    });
    await a.listen({ host: '127.0.0.1', port });
    port = (a.server.address() as { port: number }).port;
    app = a;
  };
  await start();
  const server: HookServer = {
    url: `http://127.0.0.1:${port}`,
    db,
    auth,
    events: core.events,
    published,
    requests,
    respond: undefined,
    start,
    async stop() {
      await app?.close();
      app = undefined;
    },
    async close() {
      await server.stop();
      await core.audit.stop();
      await core.live.stop();
      await db.close();
      fs.rmSync(workspacesDir, { recursive: true, force: true });
    },
  };
  return server;
}

/** Runs the forwarder in hook mode the way Claude Code does (/bin/sh -c); resolves with its wall time and output. */
export function runHook(opts: { url: string; spool: string; event: string; payload: unknown; env?: NodeJS.ProcessEnv; shell?: string }) {
  return new Promise<{ code: number | null; ms: number; stdout: string; stderr: string }>((resolve, reject) => {
    const q = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;
    const cmd = `exec ${opts.shell ?? forwarderShell()} ${q(PACKAGED_SCRIPT)} --url ${q(opts.url)} --spool ${q(opts.spool)} ${opts.event}`;
    const t0 = performance.now();
    const child = spawn('/bin/sh', ['-c', cmd], { env: opts.env ?? { PATH: process.env.PATH, HOME: process.env.HOME }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdin.on('error', () => {});
    child.stdin.end(typeof opts.payload === 'string' ? opts.payload : JSON.stringify(opts.payload));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, ms: performance.now() - t0, stdout, stderr }));
  });
}

export const queued = (spool: string) => {
  try {
    return fs.readdirSync(`${spool}/queue`).filter((f) => f.endsWith('.ok'));
  } catch {
    return [];
  }
};

/** The delivery worker's pid, if one runs (worker.lock holds "<pid> <boot id> <start time>"). */
export function workerPid(spool: string): number | undefined {
  try {
    const pid = Number(fs.readFileSync(`${spool}/worker.lock`, 'utf8').trim().split(/\s+/)[0]);
    if (!(pid > 0)) return undefined;
    process.kill(pid, 0);
    return pid;
  } catch {
    return undefined;
  }
}

export async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/**
 * Delivery workers of this spool, found by their command line. The lock alone is not
 * enough: a worker unlocks, then looks at the queue once more before it exits, so a
 * test that refills the queue in that window would race it.
 */
export function workerProcesses(spool: string): number[] {
  const wanted = `--spool\0${spool}\0--deliver`;
  const pids: number[] = [];
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      if (fs.readFileSync(`/proc/${d}/cmdline`, 'utf8').includes(wanted)) pids.push(Number(d));
    } catch {
      // exited meanwhile
    }
  }
  return pids;
}

/** Waits for the spool to drain and its workers to exit; kills a worker that outlives the test. */
export async function drainSpool(spool: string, timeoutMs = 15_000): Promise<void> {
  try {
    await waitFor(() => queued(spool).length === 0 && workerPid(spool) === undefined && workerProcesses(spool).length === 0, timeoutMs, 'the spool to drain');
  } finally {
    for (const pid of workerProcesses(spool)) process.kill(pid, 'SIGTERM');
  }
}
