/**
 * Many sessions at once: N sessions posted together, each SCRIPT:multi (five
 * Bash calls), on a `cco serve` child with the default MAX_CONCURRENT_RUNS.
 * Checks every turn completed and every tool call has its log; measures wall
 * time and peak RSS of the server and of its Claude Code processes.
 */
import { performance } from 'node:perf_hooks';
import { api, benchEnv, maxConcurrentRunsOf, round, sampleRss, sleep, startServe, type Log, type RssPeaks } from './common.ts';

export interface BurstResult {
  backend: 'embedded' | 'postgres';
  sessions: number;
  tool_calls_per_session: number;
  max_concurrent_runs: number | null;
  wall_s: number;
  completed_turns: number;
  expected_logs: number;
  logs: number;
  logs_completed: number;
  all_finished: boolean;
  no_log_lost: boolean;
  peak: RssPeaks;
}

const TOOL_CALLS = 5; // SCRIPT:multi

export async function benchBurst(opts: { sessions: number; databaseUrl?: string; log: Log }): Promise<BurstResult> {
  const b = await benchEnv('burst', opts.databaseUrl);
  const serve = await startServe(b.env);
  const sampler = sampleRss(serve.child.pid!);
  try {
    const t0 = performance.now();
    const created = await Promise.all(
      Array.from({ length: opts.sessions }, () => api(serve.url, 'POST', '/api/sessions', { prompt: 'SCRIPT:multi', allowed_tools: ['Bash'] })),
    );
    const bad = created.find((r) => r.status !== 201);
    if (bad) throw new Error(`POST /api/sessions: ${bad.status} ${JSON.stringify(bad.body)}`);
    const pending = new Set(created.map((r) => r.body.id as string));
    const deadline = Date.now() + 10 * 60_000;
    while (pending.size) {
      if (Date.now() > deadline) throw new Error(`${pending.size} sessions did not finish within 10 minutes`);
      await sleep(200);
      for (const id of [...pending]) {
        const s = await api(serve.url, 'GET', `/api/sessions/${id}`);
        if (s.body.turn_state === 'idle' && s.body.totals.turns >= 1) pending.delete(id);
      }
    }
    const wall = (performance.now() - t0) / 1000;
    const peak = sampler.stop();
    let completedTurns = 0;
    let logs = 0;
    let logsCompleted = 0;
    for (const r of created) {
      const turns = await api(serve.url, 'GET', `/api/sessions/${r.body.id}/turns?limit=200`);
      completedTurns += (turns.body.data as { status: string }[]).filter((t) => t.status === 'completed').length;
      const l = await api(serve.url, 'GET', `/api/sessions/${r.body.id}/logs?limit=200`);
      const data = l.body.data as { status: string }[];
      logs += data.length;
      logsCompleted += data.filter((x) => x.status === 'completed').length;
    }
    const expected = opts.sessions * TOOL_CALLS;
    const result: BurstResult = {
      backend: opts.databaseUrl ? 'postgres' : 'embedded',
      sessions: opts.sessions,
      tool_calls_per_session: TOOL_CALLS,
      max_concurrent_runs: maxConcurrentRunsOf(serve.output()),
      wall_s: round(wall, 2),
      completed_turns: completedTurns,
      expected_logs: expected,
      logs,
      logs_completed: logsCompleted,
      all_finished: completedTurns === opts.sessions,
      no_log_lost: logs === expected && logsCompleted === expected,
      peak,
    };
    opts.log(`burst (${result.backend}): ${opts.sessions} sessions in ${result.wall_s} s (MAX_CONCURRENT_RUNS ${result.max_concurrent_runs}); turns ${completedTurns}/${opts.sessions}, logs ${logs}/${expected}; peak RSS server ${peak.server_mb} MB, claude sum ${peak.claude_sum_mb} MB (${peak.claude_processes} processes)`);
    return result;
  } finally {
    sampler.stop();
    serve.child.kill('SIGTERM');
    await serve.exited;
    await b.close();
  }
}
