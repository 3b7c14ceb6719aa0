/**
 * Start latency: `POST /api/sessions` (prompt SCRIPT:text) until the first
 * assistant message is stored, seen on the server's EventBus in the same
 * process; interleaved with a bare `claude -p` of the same prompt against the
 * same model server, from spawn until its first `assistant` stream line.
 */
import { query, type SDKUserMessage } from '@anthropic-ai/claude-agent-sdk';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { loadConfig } from '../../src/config.ts';
import { createLogger } from '../../src/logger.ts';
import { startServer } from '../../src/main.ts';
import { claudeBinaryPath } from '../../test/helpers/claude.ts';
import { api, benchEnv, median, percentile, round, sleep, type Log } from './common.ts';

export interface LatencyRound {
  runs: number;
  orchestrator: { p50_ms: number; p95_ms: number; samples_ms: number[] };
  bare: { p50_ms: number; p95_ms: number; samples_ms: number[] };
  /** The Agent SDK's query() alone, with the options a turn uses: what the SDK adds before the orchestrator does. */
  sdk: { p50_ms: number; p95_ms: number; samples_ms: number[] };
  diff_p50_ms: number;
  /** Where the orchestrator's time went, medians over the runs (ms from the POST). */
  phases: { post_response_ms: number; turn_running_ms: number; first_assistant_ms: number };
  /** CPU the bench process (server and client) spent from the POST to the first assistant message, median ms. */
  server_cpu_ms: number;
}

export interface LatencyResult {
  backend: 'embedded' | 'postgres';
  rounds: LatencyRound[];
  median_orchestrator_p50_ms: number;
  median_bare_p50_ms: number;
  median_diff_p50_ms: number;
  median_orchestrator_p95_ms: number;
  median_bare_p95_ms: number;
  median_sdk_p50_ms: number;
  goal_ms: number;
  met: boolean;
}

function isAssistantLine(line: string): boolean {
  try {
    return (JSON.parse(line) as { type?: unknown }).type === 'assistant';
  } catch {
    return false;
  }
}

/** One bare `claude -p`: ms from spawn to the first assistant line, then waits for the exit. */
export async function bareRun(env: Record<string, string>, cwd: string): Promise<number> {
  const t0 = performance.now();
  const child = spawn(claudeBinaryPath(), ['-p', 'SCRIPT:text', '--output-format', 'stream-json', '--verbose'], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let firstAt: number | undefined;
  let rest = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk: string) => {
    rest += chunk;
    const lines = rest.split('\n');
    rest = lines.pop() ?? '';
    if (firstAt === undefined && lines.some(isAssistantLine)) firstAt = performance.now();
  });
  child.stderr.resume();
  const code = await new Promise<number | null>((r) => child.once('close', (c) => r(c)));
  if (firstAt === undefined) throw new Error(`bare claude gave no assistant line (exit ${code})`);
  return firstAt - t0;
}

/**
 * One query() of the Agent SDK with a turn's options (streaming input, hooks, the
 * preset system prompt, the setting sources): ms from the call to the first
 * assistant message, then ends the input and drains the stream.
 */
export async function sdkRun(env: Record<string, string>, cwd: string): Promise<number> {
  const t0 = performance.now();
  let endInput!: () => void;
  const inputEnded = new Promise<void>((r) => (endInput = r));
  async function* input(): AsyncGenerator<SDKUserMessage> {
    yield { type: 'user', message: { role: 'user', content: 'SCRIPT:text' }, parent_tool_use_id: null, session_id: '' } as SDKUserMessage;
    await inputEnded;
  }
  const q = query({
    prompt: input(),
    options: {
      cwd,
      env,
      systemPrompt: { type: 'preset', preset: 'claude_code' },
      settingSources: ['user', 'project', 'local'],
      permissionMode: 'acceptEdits',
      hooks: { PostToolUse: [{ hooks: [async () => ({})] }], PostToolUseFailure: [{ hooks: [async () => ({})] }] },
    },
  });
  let firstAt: number | undefined;
  try {
    for await (const m of q) {
      if (m.type === 'assistant' && firstAt === undefined) firstAt = performance.now();
      if (m.type === 'result') endInput();
    }
  } finally {
    endInput();
  }
  if (firstAt === undefined) throw new Error('the SDK gave no assistant message');
  return firstAt - t0;
}

export async function benchLatency(opts: { runs: number; rounds: number; warmup: number; databaseUrl?: string; log: Log }): Promise<LatencyResult> {
  const backend = opts.databaseUrl ? 'postgres' : 'embedded';
  const b = await benchEnv('latency', opts.databaseUrl);
  const server = await startServer(loadConfig({ ...b.env, PORT: '0', LOG_LEVEL: 'silent', AUTH: 'off' }), createLogger('silent', { pretty: false }));
  const bareCwd = path.join(b.dir, 'bare');
  fs.mkdirSync(bareCwd, { recursive: true });
  // First assistant message and first "running" state per session, stamped when the bus publishes them.
  const firstAssistant = new Map<string, number>();
  const running = new Map<string, number>();
  const unsubscribe = server.core.events.subscribe((e) => {
    if (e.type === 'message.created' && e.message.direction === 'assistant' && !firstAssistant.has(e.session_id)) firstAssistant.set(e.session_id, performance.now());
    if (e.type === 'session.updated' && e.session.turn_state === 'running' && !running.has(e.session_id)) running.set(e.session_id, performance.now());
  });

  async function orchestratorRun() {
    const t0 = performance.now();
    const cpu0 = process.cpuUsage();
    const r = await api(server.url, 'POST', '/api/sessions', { prompt: 'SCRIPT:text' });
    const tPost = performance.now();
    if (r.status !== 201) throw new Error(`POST /api/sessions: ${r.status} ${JSON.stringify(r.body)}`);
    const id = r.body.id as string;
    const deadline = Date.now() + 60_000;
    while (!firstAssistant.has(id)) {
      if (Date.now() > deadline) throw new Error(`no assistant message for ${id}`);
      await sleep(2);
    }
    const cpu = process.cpuUsage(cpu0);
    // Let the turn end before the next run, so runs never overlap.
    for (;;) {
      const s = await api(server.url, 'GET', `/api/sessions/${id}`);
      if (s.body.turn_state === 'idle' && s.body.totals.turns >= 1) break;
      if (Date.now() > deadline) throw new Error(`session ${id} did not finish`);
      await sleep(20);
    }
    return { total: firstAssistant.get(id)! - t0, post: tPost - t0, running: (running.get(id) ?? NaN) - t0, cpu: (cpu.user + cpu.system) / 1000 };
  }

  const rounds: LatencyRound[] = [];
  try {
    for (let i = 0; i < opts.warmup; i++) {
      await orchestratorRun();
      await bareRun(b.env, bareCwd);
      await sdkRun(b.env, bareCwd);
    }
    for (let round_ = 0; round_ < opts.rounds; round_++) {
      const orch: Awaited<ReturnType<typeof orchestratorRun>>[] = [];
      const bare: number[] = [];
      const sdk: number[] = [];
      const steps = [
        async () => void orch.push(await orchestratorRun()),
        async () => void bare.push(await bareRun(b.env, bareCwd)),
        async () => void sdk.push(await sdkRun(b.env, bareCwd)),
      ];
      for (let i = 0; i < opts.runs; i++) {
        // Rotate which goes first, so drift in the machine's load hits all alike.
        for (let k = 0; k < steps.length; k++) await steps[(i + k) % steps.length]!();
      }
      const totals = orch.map((o) => o.total);
      const r: LatencyRound = {
        runs: opts.runs,
        orchestrator: { p50_ms: round(median(totals)), p95_ms: round(percentile(totals, 95)), samples_ms: totals.map((v) => round(v)) },
        bare: { p50_ms: round(median(bare)), p95_ms: round(percentile(bare, 95)), samples_ms: bare.map((v) => round(v)) },
        sdk: { p50_ms: round(median(sdk)), p95_ms: round(percentile(sdk, 95)), samples_ms: sdk.map((v) => round(v)) },
        diff_p50_ms: round(median(totals) - median(bare)),
        phases: {
          post_response_ms: round(median(orch.map((o) => o.post))),
          turn_running_ms: round(median(orch.map((o) => o.running))),
          first_assistant_ms: round(median(totals)),
        },
        server_cpu_ms: round(median(orch.map((o) => o.cpu))),
      };
      rounds.push(r);
      opts.log(`latency (${backend}) round ${round_ + 1}/${opts.rounds}: orchestrator p50 ${r.orchestrator.p50_ms} p95 ${r.orchestrator.p95_ms}; bare p50 ${r.bare.p50_ms} p95 ${r.bare.p95_ms}; sdk p50 ${r.sdk.p50_ms}; diff p50 ${r.diff_p50_ms} ms`);
    }
  } finally {
    unsubscribe();
    await server.stop();
    await b.close();
  }
  const med = (f: (r: LatencyRound) => number) => round(median(rounds.map(f)));
  const diff = med((r) => r.diff_p50_ms);
  return {
    backend,
    rounds,
    median_orchestrator_p50_ms: med((r) => r.orchestrator.p50_ms),
    median_bare_p50_ms: med((r) => r.bare.p50_ms),
    median_diff_p50_ms: diff,
    median_orchestrator_p95_ms: med((r) => r.orchestrator.p95_ms),
    median_bare_p95_ms: med((r) => r.bare.p95_ms),
    median_sdk_p50_ms: med((r) => r.sdk.p50_ms),
    goal_ms: 150,
    met: diff <= 150,
  };
}
