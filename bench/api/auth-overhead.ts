/**
 * What authentication costs: the same server on the same seeded database,
 * started with AUTH=off and with AUTH=keys in turn (alternating, so drift hits
 * both), measuring GET /api/sessions (first page) and one-event hook ingest,
 * each from one sender so the p50 is a request's own latency, not queueing.
 * The keys side sends an admin key with every request, so both sides run the
 * same queries and the difference is the key check.
 */
import type { Config } from '../../src/config.ts';
import { createLogger } from '../../src/logger.ts';
import { startServer } from '../../src/main.ts';
import { median } from './load.ts';
import type { LoadClient } from './load-client.ts';
import { latency, measured, PAGE_LIMIT, type ApiBenchOptions, type HookFigures, type Latency } from './run.ts';

export interface AuthSide {
  list: Latency;
  hooks: HookFigures;
}

export interface AuthOverhead {
  runs: { off: AuthSide; keys: AuthSide }[];
  /** Medians over runs of p50 (keys minus off), ms. */
  list_p50_added_ms: number;
  hooks_p50_added_ms: number;
  list_p50_ms: { off: number; keys: number };
  hooks_p50_ms: { off: number; keys: number };
}

type MeasureHooks = (client: LoadClient, baseUrl: string, server: Awaited<ReturnType<typeof startServer>>, key: string | undefined) => Promise<HookFigures>;

export async function measureAuthOverhead(client: LoadClient, config: Config, opts: ApiBenchOptions, measureHooks: MeasureHooks): Promise<AuthOverhead> {
  const runs: AuthOverhead['runs'] = [];
  for (let rep = 1; rep <= opts.repeat; rep++) {
    const sides = {} as { off: AuthSide; keys: AuthSide };
    for (const mode of ['off', 'keys'] as const) {
      const server = await startServer({ ...config, auth: { ...config.auth, mode } }, createLogger('silent', { pretty: false }));
      try {
        const key = mode === 'keys' ? (server.firstKey?.key ?? (await server.auth.createKey({ name: `bench-${rep}-${Date.now()}`, role: 'admin' })).key) : undefined;
        const job = { baseUrl: server.url, concurrency: 1, count: opts.readRequests, warmup: 20, key, requests: { kind: 'get' as const, paths: [`/api/sessions?limit=${PAGE_LIMIT}`] } };
        const list = latency(await measured(client, server.database.db, server.database.backend, job), job.warmup);
        if (list.errors > 0) throw new Error(`AUTH=${mode}: ${list.errors} list requests failed`);
        const hooks = await measureHooks(client, server.url, server, key);
        sides[mode] = { list, hooks };
      } finally {
        await server.stop();
      }
    }
    opts.log(`[auth] run ${rep}/${opts.repeat}: list p50 off ${sides.off.list.p50_ms} / keys ${sides.keys.list.p50_ms} ms, hooks p50 off ${sides.off.hooks.p50_ms} / keys ${sides.keys.hooks.p50_ms} ms`);
    runs.push(sides);
  }
  const round = (v: number) => Math.round(v * 100) / 100;
  return {
    runs,
    list_p50_added_ms: round(median(runs.map((r) => r.keys.list.p50_ms - r.off.list.p50_ms))),
    hooks_p50_added_ms: round(median(runs.map((r) => r.keys.hooks.p50_ms - r.off.hooks.p50_ms))),
    list_p50_ms: { off: median(runs.map((r) => r.off.list.p50_ms)), keys: median(runs.map((r) => r.keys.list.p50_ms)) },
    hooks_p50_ms: { off: median(runs.map((r) => r.off.hooks.p50_ms)), keys: median(runs.map((r) => r.keys.hooks.p50_ms)) },
  };
}
