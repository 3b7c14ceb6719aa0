/** A test app whose runner drives the real Claude Code binary against the scripted model server. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startModelServer, type ModelServer } from '../../src/model-server/server.ts';
import { call, createTestApp, type TestApp, type TestAppOptions } from './app.ts';
import { claudeTestEnv } from './claude.ts';

export interface RunnerHarness {
  t: TestApp;
  model: ModelServer;
  configDir: string;
  close(): Promise<void>;
}

export async function createRunnerHarness(opts: TestAppOptions & { model?: ModelServer } = {}): Promise<RunnerHarness> {
  const model = opts.model ?? (await startModelServer({ port: 0 }));
  const configDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cco-claude-config-'));
  const env = claudeTestEnv({ baseUrl: model.url, configDir }) as Record<string, string>;
  const t = await createTestApp({ ...opts, runner: { passEnv: env, ...opts.runner } });
  return {
    t,
    model,
    configDir,
    async close() {
      await t.close();
      if (!opts.model) await model.close();
    },
  };
}

/** Polls `check` until it returns a truthy value or the time is up. */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined | false | null>, timeoutMs = 60_000): Promise<T> {
  const start = Date.now();
  let last: unknown;
  while (Date.now() - start < timeoutMs) {
    try {
      const v = await check();
      if (v) return v;
    } catch (e: unknown) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
}

/** Waits until the session has finished `turns` turns and nothing is queued or running. */
export async function waitIdle(t: TestApp, id: string, turns: number, timeoutMs = 60_000) {
  return waitFor(`session ${id} idle after ${turns} turns`, async () => {
    const s = await call(t.app, 'GET', `/api/sessions/${id}`);
    return s.body.turn_state === 'idle' && s.body.totals.turns >= turns ? s.body : undefined;
  }, timeoutMs);
}

export async function allMessages(t: TestApp, id: string) {
  return (await call(t.app, 'GET', `/api/sessions/${id}/messages?limit=200`)).body.data as { direction: string; content: string; source: string; metadata: Record<string, unknown> }[];
}

export async function allLogs(t: TestApp, id: string) {
  return (await call(t.app, 'GET', `/api/sessions/${id}/logs?limit=200`)).body.data as {
    tool: string; status: string; input: Record<string, unknown>; result: string; tool_use_id: string; duration_ms: number | null; metadata: Record<string, unknown>; result_truncated: boolean;
  }[];
}
