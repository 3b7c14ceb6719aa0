/** The Markdown table bench:runner prints. */
import { median } from './common.ts';
import type { BurstResult } from './burst.ts';
import type { CyclesResult } from './cycles.ts';
import type { LatencyResult } from './latency.ts';

export interface RunnerBenchResult {
  date: string;
  node: string;
  cpus: number;
  quick: boolean;
  latency: LatencyResult[];
  burst?: BurstResult;
  cycles: CyclesResult[];
}

const yes = (b: boolean) => (b ? 'yes' : '**no**');

export function markdownTable(r: RunnerBenchResult): string {
  const rows: string[][] = [];
  for (const l of r.latency) {
    const range = (f: (x: LatencyResult['rounds'][number]) => number) => {
      const v = l.rounds.map(f);
      return v.length > 1 ? ` (${Math.min(...v)}–${Math.max(...v)})` : '';
    };
    rows.push([`Start latency, orchestrator on ${l.backend} (POST → first assistant message stored): p50 / p95 ms, median of ${l.rounds.length} rounds × ${l.rounds[0]?.runs} runs`, `${l.median_orchestrator_p50_ms} / ${l.median_orchestrator_p95_ms}${range((x) => x.orchestrator.p50_ms)}`, '', '']);
    rows.push(['Start latency, bare `claude -p` (spawn → first assistant line): p50 / p95 ms', `${l.median_bare_p50_ms} / ${l.median_bare_p95_ms}${range((x) => x.bare.p50_ms)}`, '', '']);
    rows.push(['Start latency, Agent SDK `query()` alone with a turn\'s options (call → first assistant message): p50 ms', `${l.median_sdk_p50_ms}${range((x) => x.sdk.p50_ms)}`, '', '']);
    rows.push(['Orchestrator minus bare, p50 ms (ratio)', `${l.median_diff_p50_ms}${range((x) => x.diff_p50_ms)} (×${(l.median_orchestrator_p50_ms / l.median_bare_p50_ms).toFixed(2)})`, `≤ ${l.goal_ms} ms`, yes(l.met)]);
    const ph = l.rounds.map((x) => x.phases);
    const mid = ph[Math.floor(ph.length / 2)];
    if (mid) rows.push(['Orchestrator phases (middle round, medians): turn running / POST answered / first assistant stored, ms', `${mid.turn_running_ms} / ${mid.post_response_ms} / ${mid.first_assistant_ms}`, '', '']);
    rows.push(['CPU of the server process per start (POST → first assistant stored), median ms', String(median(l.rounds.map((x) => x.server_cpu_ms))), '', '']);
  }
  const b = r.burst;
  if (b) {
    rows.push([`${b.sessions} sessions at once on ${b.backend}, ${b.tool_calls_per_session} tool calls each (MAX_CONCURRENT_RUNS auto = ${b.max_concurrent_runs}): turns completed, command logs`, `${b.completed_turns}/${b.sessions}, ${b.logs}/${b.expected_logs}`, 'all, none lost', yes(b.all_finished && b.no_log_lost)]);
    rows.push(['… wall time s', String(b.wall_s), '', '']);
    rows.push(['… peak RSS: server (at start) / Claude Code processes summed (most at once), MB', `${b.peak.server_mb} (${b.peak.server_start_mb}) / ${b.peak.claude_sum_mb} (${b.peak.claude_processes})`, '', '']);
  }
  for (const c of r.cycles) {
    rows.push([`Pause/resume/continue cycles, ${c.backend}: ${c.sessions} sessions × ${c.cycles_per_session}, restarts ${c.restarts.map((x) => `${x.signal} after ${x.after_cycles}`).join(', ')}: successful resumes`, `${c.successful}/${c.total_cycles} (${(c.success_share * 100).toFixed(1)} %)`, '100 %', yes(c.success_share === 1)]);
    rows.push(['… continues re-sent after a restart cut them / pauses that interrupted a running tool / wall s', `${c.continues_resent_after_restart} / ${c.pauses_interrupting_a_turn} / ${c.wall_s}`, '', '']);
  }
  const head = ['Figure', 'Value', 'Goal', 'Met'];
  return [head, head.map(() => '---'), ...rows].map((row) => `| ${row.join(' | ')} |`).join('\n');
}
