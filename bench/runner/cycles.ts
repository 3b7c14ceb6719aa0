/**
 * Pause, resume and continue, many times, across two server restarts (SIGTERM,
 * then kill -9) of a `cco serve` child. A cycle: post a message whose script
 * runs a 3 s Bash tool; pause while the tool runs; set the session active; post
 * a continue message and wait for its turn. It succeeds when the continue turn
 * completes in the same Claude session (same claude_session_id) and the model
 * saw the whole conversation. A continue turn cut off by a restart is sent
 * again, as a user would (counted apart).
 */
import fs from 'node:fs';
import { performance } from 'node:perf_hooks';
import type { ModelServer } from '../../src/model-server/server.ts';
import { pidsWithEnv } from '../../test/helpers/serve.ts';
import { api, benchEnv, claudeExe, round, sleep, startServe, type Json, type Log, type ServeChild } from './common.ts';

export interface CycleFailure {
  session: number;
  cycle: number;
  cause: string;
  /** The restarts that happened while this cycle ran (0 = none). */
  restarts_during: number;
  /** How the cycle's tool turn ended. */
  tool_turn: string | undefined;
}

export interface CyclesResult {
  backend: 'embedded' | 'postgres';
  sessions: number;
  cycles_per_session: number;
  total_cycles: number;
  successful: number;
  success_share: number;
  /** Continue turns interrupted by a restart and sent again before they completed. */
  continues_resent_after_restart: number;
  /** Tool turns the pause actually interrupted (the rest had not started or had finished). */
  pauses_interrupting_a_turn: number;
  restarts: { after_cycles: number; signal: 'SIGTERM' | 'SIGKILL'; down_ms: number }[];
  http_retries: number;
  wall_s: number;
  claude_processes_left: number;
  failures: CycleFailure[];
}

const TOOL_MS = 3000;
const tag = (s: number, c: number) => `CYCLE-s${String(s).padStart(3, '0')}-c${String(c).padStart(3, '0')}`;
const sessionTag = (s: number) => `bench session s${String(s).padStart(3, '0')}.`;

/** What the model server was asked, reduced to what the cycles check; drains its request list. */
class RequestWatch {
  readonly toolAsked = new Set<string>();
  /** Per cycle: whether the continue request carried the cycle's own prompt and the session's first prompt. */
  readonly continueContext = new Map<string, { cycle_prompt: boolean; first_prompt: boolean }>();
  constructor(private readonly model: ModelServer) {}

  scan(): void {
    for (const r of this.model.requests.splice(0)) {
      const messages = (r.body as { messages?: unknown[] } | undefined)?.messages;
      if (!Array.isArray(messages) || !messages.length) continue;
      const last = JSON.stringify(messages.at(-1));
      if (r.reply === 'inline#0') {
        const m = /CYCLE-s\d+-c\d+/.exec(last);
        if (m) this.toolAsked.add(m[0]);
      } else if (r.reply === 'plain') {
        const m = /continue (CYCLE-s(\d+)-c\d+)/.exec(last);
        if (!m) continue;
        const earlier = JSON.stringify(messages.slice(0, -1));
        this.continueContext.set(m[1]!, { cycle_prompt: earlier.includes(m[1]!), first_prompt: earlier.includes(sessionTag(Number(m[2]))) });
      }
    }
  }
}

const TERMINAL = new Set(['completed', 'error', 'interrupted', 'timed_out', 'cancelled']);

export async function benchCycles(opts: { sessions: number; cycles: number; databaseUrl?: string; log: Log }): Promise<CyclesResult> {
  const b = await benchEnv('cycles', opts.databaseUrl);
  const watch = new RequestWatch(b.model);
  const scanTimer = setInterval(() => watch.scan(), 50);
  let server: ServeChild = await startServe(b.env);
  let ready: Promise<void> = Promise.resolve();
  let generation = 0;
  let httpRetries = 0;
  const restarts: CyclesResult['restarts'] = [];
  const total = opts.sessions * opts.cycles;
  const plan: { at: number; signal: 'SIGTERM' | 'SIGKILL' }[] = [
    { at: Math.max(1, Math.round(total / 3)), signal: 'SIGTERM' },
    { at: Math.max(2, Math.round((2 * total) / 3)), signal: 'SIGKILL' },
  ];
  let restarting: Promise<void> | undefined;
  let done = 0;

  async function restart(signal: 'SIGTERM' | 'SIGKILL', afterCycles: number) {
    let open!: () => void;
    ready = new Promise((r) => (open = r));
    generation += 1;
    const t0 = performance.now();
    server.child.kill(signal);
    await server.exited;
    server = await startServe(b.env);
    open();
    restarts.push({ after_cycles: afterCycles, signal, down_ms: Math.round(performance.now() - t0) });
    opts.log(`cycles: ${signal} restart after ${afterCycles} cycles, down ${restarts.at(-1)!.down_ms} ms`);
  }

  /** One request, retried through a restart (connection refused or reset, or a 5xx while stopping). */
  async function call(method: string, url: string, body?: unknown): Promise<{ status: number; body: Json }> {
    const deadline = Date.now() + 120_000;
    for (;;) {
      await ready;
      try {
        const r = await api(server.url, method, url, body);
        if (r.status < 500) return r;
        if (Date.now() > deadline) return r;
      } catch (e: unknown) {
        if (Date.now() > deadline) throw e;
      }
      httpRetries += 1;
      await sleep(100);
    }
  }

  async function until<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 120_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const v = await check();
      if (v !== undefined) return v;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await sleep(100);
    }
  }

  async function turn(sessionId: string, turnId: number): Promise<Json | undefined> {
    const r = await call('GET', `/api/sessions/${sessionId}/turns?limit=200`);
    return (r.body.data as Json[] | undefined)?.find((t) => t.id === turnId);
  }

  async function post(sessionId: string, content: string): Promise<number> {
    const r = await call('POST', `/api/sessions/${sessionId}/messages`, { direction: 'user', content });
    if (r.status !== 201 || !r.body.turn) throw new Error(`POST message: ${r.status} ${JSON.stringify(r.body).slice(0, 300)}`);
    return r.body.turn.id as number;
  }

  let successful = 0;
  let resent = 0;
  let interruptedByPause = 0;
  const failures: CycleFailure[] = [];

  async function worker(s: number) {
    const created = await call('POST', '/api/sessions', { prompt: `SCRIPT:text ${sessionTag(s)}`, allowed_tools: ['Bash'] });
    if (created.status !== 201) throw new Error(`POST /api/sessions: ${created.status} ${JSON.stringify(created.body)}`);
    const id = created.body.id as string;
    const first = await until('first turn', async () => {
      const r = await call('GET', `/api/sessions/${id}`);
      return r.body.turn_state === 'idle' && r.body.totals.turns >= 1 && r.body.claude_session_id ? r.body : undefined;
    });
    const claudeSessionId = first.claude_session_id as string;
    for (let c = 0; c < opts.cycles; c++) {
      const marker = tag(s, c);
      const genAtStart = generation;
      let toolTurnStatus: string | undefined;
      try {
        const script = [
          { tool: 'Bash', input: { command: `node -e "setTimeout(()=>{},${TOOL_MS})"`, description: marker, timeout: 60_000 } },
          { text: `${marker} tool finished` },
        ];
        const toolTurn = await post(id, `SCRIPT_JSON:${JSON.stringify(script)}`);
        await until('tool call', async () => (watch.toolAsked.has(marker) || TERMINAL.has((await turn(id, toolTurn))?.status) ? true : undefined));
        if (watch.toolAsked.has(marker)) await sleep(300); // the tool process is starting
        const paused = await call('PATCH', `/api/sessions/${id}`, { status: 'paused' });
        if (paused.status !== 200) throw new Error(`PATCH paused: ${paused.status} ${JSON.stringify(paused.body).slice(0, 300)}`);
        const afterPause = await until('pause to take effect', async () => {
          const t = await turn(id, toolTurn);
          return t && t.status !== 'running' ? (t.status as string) : undefined;
        });
        if (afterPause === 'interrupted' && generation === genAtStart) interruptedByPause += 1;
        const active = await call('PATCH', `/api/sessions/${id}`, { status: 'active' });
        if (active.status !== 200) throw new Error(`PATCH active: ${active.status} ${JSON.stringify(active.body).slice(0, 300)}`);
        let ended: Json | undefined;
        for (let attempt = 0; attempt < 4; attempt++) {
          const gen = generation;
          const continueTurn = await post(id, `continue ${marker}`);
          ended = await until('continue turn', async () => {
            const t = await turn(id, continueTurn);
            return t && TERMINAL.has(t.status) ? t : undefined;
          });
          if (ended.status === 'interrupted' && generation !== gen) {
            resent += 1;
            continue;
          }
          break;
        }
        if (ended?.status !== 'completed') throw new Error(`continue turn ${ended?.status}: ${ended?.error ?? ended?.terminal_reason ?? ''}`);
        const session = (await call('GET', `/api/sessions/${id}`)).body;
        if (session.claude_session_id !== claudeSessionId) throw new Error(`claude_session_id changed: ${claudeSessionId} -> ${session.claude_session_id}`);
        const context = await until('continue request seen', async () => {
          watch.scan();
          return watch.continueContext.get(marker);
        }, 5_000);
        toolTurnStatus = ((await turn(id, toolTurn))?.status as string | undefined) ?? undefined;
        if (!context.cycle_prompt || !context.first_prompt) {
          throw new Error(`the continue request lacked ${[context.first_prompt ? '' : "the session's first prompt", context.cycle_prompt ? '' : "this cycle's tool prompt"].filter(Boolean).join(' and ')}`);
        }
        successful += 1;
      } catch (e: unknown) {
        const f = { session: s, cycle: c, cause: (e as Error).message, restarts_during: generation - genAtStart, tool_turn: toolTurnStatus };
        failures.push(f);
        opts.log(`cycles: session ${s} cycle ${c} failed: ${f.cause} (restarts during the cycle: ${f.restarts_during}, tool turn ${f.tool_turn})`);
      }
      done += 1;
      const next = plan[restarts.length];
      if (!restarting && next && done >= next.at) {
        restarting = restart(next.signal, done).finally(() => (restarting = undefined));
      }
    }
  }

  const t0 = performance.now();
  try {
    await Promise.all(Array.from({ length: opts.sessions }, (_, s) => worker(s)));
    if (restarting) await restarting;
    const wall = (performance.now() - t0) / 1000;
    await sleep(1000);
    // Any Claude Code process of this bench still alive, wherever it hangs (kill -9 leaves no parent to ask).
    const exe = claudeExe();
    const left = pidsWithEnv('CLAUDE_CONFIG_DIR', b.env.CLAUDE_CONFIG_DIR!).filter((pid) => {
      try {
        return fs.readlinkSync(`/proc/${pid}/exe`) === exe;
      } catch {
        return false;
      }
    }).length;
    const result: CyclesResult = {
      backend: opts.databaseUrl ? 'postgres' : 'embedded',
      sessions: opts.sessions,
      cycles_per_session: opts.cycles,
      total_cycles: total,
      successful,
      success_share: round(successful / total, 4),
      continues_resent_after_restart: resent,
      pauses_interrupting_a_turn: interruptedByPause,
      restarts,
      http_retries: httpRetries,
      wall_s: round(wall, 1),
      claude_processes_left: left,
      failures,
    };
    opts.log(`cycles (${result.backend}): ${successful}/${total} resumed (${round(result.success_share * 100, 2)} %), ${resent} continues re-sent after a restart, ${interruptedByPause} pauses interrupted a running turn, ${result.wall_s} s`);
    return result;
  } finally {
    clearInterval(scanTimer);
    server.child.kill('SIGTERM');
    await server.exited;
    await b.close();
  }
}
