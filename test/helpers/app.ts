/** Builds the real app on a fresh test database; requests go through app.inject(). */
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/app.ts';
import { EventBus } from '../../src/events/bus.ts';
import type { SseOptions } from '../../src/http/sse.ts';
import { createLogger } from '../../src/logger.ts';
import { SessionService } from '../../src/sessions/service.ts';
import { createTestDb, type TestDb } from './db.ts';

export interface TestApp {
  app: FastifyInstance;
  db: TestDb;
  events: EventBus;
  sessions: SessionService;
  close(): Promise<void>;
}

export interface TestAppOptions {
  bodyLimitBytes?: number;
  resultMaxBytes?: number;
  /** Ring buffer size of the event bus (small to test SSE resets). */
  eventCapacity?: number;
  webRoot?: string;
  sse?: Partial<SseOptions>;
}

export async function createTestApp(opts: TestAppOptions = {}): Promise<TestApp> {
  const db = await createTestDb();
  const events = new EventBus(opts.eventCapacity);
  const sessions = new SessionService(db.database, events);
  const app = await buildApp({
    logger: createLogger(process.env.TEST_LOG_LEVEL ?? 'silent', { pretty: false }),
    database: db.database,
    sessions,
    bodyLimitBytes: opts.bodyLimitBytes ?? 5 * 1024 * 1024,
    resultMaxBytes: opts.resultMaxBytes ?? 50 * 1024,
    events,
    webRoot: opts.webRoot,
    sse: opts.sse,
  });
  await app.ready();
  return {
    app,
    db,
    events,
    sessions,
    async close() {
      await app.close();
      await db.close();
    },
  };
}

/** inject() shorthand returning status and parsed JSON. */
export async function call(app: FastifyInstance, method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, body?: unknown) {
  const res = await app.inject({ method, url, ...(body !== undefined ? { payload: body as object } : {}) });
  let json: unknown;
  try {
    json = res.json();
  } catch {
    json = undefined;
  }
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  return { status: res.statusCode, body: json as any, headers: res.headers };
}
