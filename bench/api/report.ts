/** The issue's targets and the Markdown table of one or both backends' medians. */
import type { BackendResult, Latency, ReadScenario } from './run.ts';

export const TARGETS = {
  readP95Ms: 20,
  /** "No growth from first to deep page": the deep page's p95 within this factor of the first page's. */
  deepRatioMax: 1.5,
  hookEventsPerS: 5000,
  hookP99Ms: 25,
  /** Issue 10: hook events as the forwarder delivers them (batches), on PostgreSQL. */
  hookBatchEventsPerS: 7500,
  hookBatchP99Ms: 25,
  /** Issue 11: authentication adds under 1 ms p50 to reads and hook ingest. */
  authAddedP50Ms: 1,
} as const;

export interface TargetCheck {
  name: string;
  value: string;
  target: string;
  met: boolean;
}

const READ_LABELS: Record<ReadScenario, string> = {
  list_first: 'GET /api/sessions, first page',
  list_deep: 'GET /api/sessions, page 50,000 rows deep',
  messages_first: 'GET …/messages (10,000-message session), first page',
  messages_last: 'GET …/messages (10,000-message session), last page',
};

const offered = (rate: number | undefined) => (rate ? `${rate}/s` : 'all they can');
const fmt = (v: number) => (v >= 100 ? v.toFixed(0) : v.toFixed(1));
const pair = (l: Latency) => `${fmt(l.p50_ms)} / ${fmt(l.p95_ms)}`;

export function checkTargets(r: BackendResult): TargetCheck[] {
  const m = r.median;
  const checks: TargetCheck[] = (Object.keys(READ_LABELS) as ReadScenario[]).map((s) => ({
    name: `${s} p95`,
    value: `${fmt(m[s].p95_ms)} ms`,
    target: `< ${TARGETS.readP95Ms} ms`,
    met: m[s].p95_ms < TARGETS.readP95Ms,
  }));
  const ratio = (deep: Latency, first: Latency) => deep.p95_ms / Math.max(first.p95_ms, 0.01);
  checks.push(
    { name: 'list deep/first p95', value: ratio(m.list_deep, m.list_first).toFixed(2), target: `≤ ${TARGETS.deepRatioMax}`, met: ratio(m.list_deep, m.list_first) <= TARGETS.deepRatioMax },
    { name: 'messages last/first p95', value: ratio(m.messages_last, m.messages_first).toFixed(2), target: `≤ ${TARGETS.deepRatioMax}`, met: ratio(m.messages_last, m.messages_first) <= TARGETS.deepRatioMax },
    { name: 'hook events/s', value: String(m.hooks.events_per_s), target: `≥ ${TARGETS.hookEventsPerS}`, met: m.hooks.events_per_s >= TARGETS.hookEventsPerS },
    { name: 'hook p99', value: `${fmt(m.hooks.p99_ms)} ms`, target: `< ${TARGETS.hookP99Ms} ms`, met: m.hooks.p99_ms < TARGETS.hookP99Ms },
    { name: 'list p50 added by keys', value: `${fmt(r.auth.list_p50_added_ms)} ms`, target: `< ${TARGETS.authAddedP50Ms} ms`, met: r.auth.list_p50_added_ms < TARGETS.authAddedP50Ms },
    { name: 'hook p50 added by keys', value: `${fmt(r.auth.hooks_p50_added_ms)} ms`, target: `< ${TARGETS.authAddedP50Ms} ms`, met: r.auth.hooks_p50_added_ms < TARGETS.authAddedP50Ms },
    { name: 'batched hook events/s', value: String(m.hook_batches.events_per_s), target: `≥ ${TARGETS.hookBatchEventsPerS}`, met: m.hook_batches.events_per_s >= TARGETS.hookBatchEventsPerS },
    { name: 'batched hook p99', value: `${fmt(m.hook_batches.p99_ms)} ms`, target: `< ${TARGETS.hookBatchP99Ms} ms`, met: m.hook_batches.p99_ms < TARGETS.hookBatchP99Ms },
  );
  return checks;
}

const NAMES = { postgres: 'PostgreSQL', embedded: 'embedded PostgreSQL' } as const;

/** One row per figure, one column per backend; medians over the repeated runs with their spread. */
export function markdownTable(results: BackendResult[]): string {
  const head = ['Figure (median of runs)', ...results.map((r) => NAMES[r.backend]), 'Target (PostgreSQL)'];
  const rows: string[][] = [];
  const spread = (r: BackendResult, get: (f: BackendResult['median']) => number) => {
    if (r.runs.length < 2) return '';
    const vs = r.runs.map(get);
    return ` (${fmt(Math.min(...vs))}–${fmt(Math.max(...vs))})`;
  };
  for (const s of Object.keys(READ_LABELS) as ReadScenario[]) {
    rows.push([`${READ_LABELS[s]}: p50 / p95 ms`, ...results.map((r) => `${pair(r.median[s])}${spread(r, (f) => f[s].p95_ms)}`), `p95 < ${TARGETS.readP95Ms} ms`]);
  }
  rows.push(
    [`POST /api/hooks/tool-complete, ${results[0]?.settings.hook_concurrency ?? 50} senders: events/s`, ...results.map((r) => `${r.median.hooks.events_per_s}${spread(r, (f) => f.hooks.events_per_s)}`), `≥ ${TARGETS.hookEventsPerS}`],
    ['POST /api/hooks/tool-complete: p50 / p95 / p99 ms', ...results.map((r) => `${fmt(r.median.hooks.p50_ms)} / ${fmt(r.median.hooks.p95_ms)} / ${fmt(r.median.hooks.p99_ms)}${spread(r, (f) => f.hooks.p99_ms)}`), `p99 < ${TARGETS.hookP99Ms} ms`],
    ['CPU per hook event, server / database / load generator: ms', ...results.map((r) => { const h = r.median.hooks; return `${h.server_cpu_ms.toFixed(2)} / ${h.db_cpu_ms.toFixed(2)} / ${h.client_cpu_ms.toFixed(2)}`; }), ''],
    [`POST /api/hooks/batch (forwarder batches, ${results[0]?.median.hook_batches.events_per_request ?? '20-50'} events each), ${results[0]?.settings.hook_concurrency ?? 50} senders offering ${offered(results[0]?.median.hook_batches.offered_per_s)}: events/s`, ...results.map((r) => `${r.median.hook_batches.events_per_s}${spread(r, (f) => f.hook_batches.events_per_s)}`), `≥ ${TARGETS.hookBatchEventsPerS}`],
    ['POST /api/hooks/batch: p50 / p95 / p99 ms per request', ...results.map((r) => { const b = r.median.hook_batches; return `${fmt(b.p50_ms)} / ${fmt(b.p95_ms)} / ${fmt(b.p99_ms)}${spread(r, (f) => f.hook_batches.p99_ms)}`; }), `p99 < ${TARGETS.hookBatchP99Ms} ms`],
    ['CPU per hook event in batches, server / database / load generator: ms', ...results.map((r) => { const b = r.median.hook_batches; return `${b.server_cpu_ms.toFixed(3)} / ${b.db_cpu_ms.toFixed(3)} / ${b.client_cpu_ms.toFixed(3)}`; }), ''],
    ['… search indexer: rows waiting at the last answer / seconds until all indexed / database CPU of that catch-up per event, ms', ...results.map((r) => { const b = r.median.hook_batches; return `${b.index_pending_at_end} / ${b.index_catchup_s} / ${b.index_catchup_db_cpu_ms.toFixed(3)}`; }), ''],
    ['CPU per list request (first page), server / database / load generator: ms', ...results.map((r) => { const l = r.median.list_first; return `${l.server_cpu_ms.toFixed(2)} / ${l.db_cpu_ms.toFixed(2)} / ${l.client_cpu_ms.toFixed(2)}`; }), ''],
    ['GET /api/sessions first page p50 ms, AUTH=off → AUTH=keys (added)', ...results.map((r) => `${fmt(r.auth.list_p50_ms.off)} → ${fmt(r.auth.list_p50_ms.keys)} (${r.auth.list_p50_added_ms >= 0 ? '+' : ''}${fmt(r.auth.list_p50_added_ms)})`), `added < ${TARGETS.authAddedP50Ms} ms`],
    ['POST /api/hooks/tool-complete p50 ms (one sender), AUTH=off → AUTH=keys (added)', ...results.map((r) => `${fmt(r.auth.hooks_p50_ms.off)} → ${fmt(r.auth.hooks_p50_ms.keys)} (${r.auth.hooks_p50_added_ms >= 0 ? '+' : ''}${fmt(r.auth.hooks_p50_added_ms)})`), `added < ${TARGETS.authAddedP50Ms} ms`],
    ['Seeding (sessions + messages + logs + vacuum analyze): s', ...results.map((r) => `${r.seed.totalS.toFixed(1)}`), ''],
    ['Database size after seeding: MB', ...results.map((r) => String(r.dataset.db_size_mb)), ''],
  );
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  const table = [line(head), line(head.map(() => '---')), ...rows.map(line)].join('\n');
  const verdicts = results.map((r) => {
    const checks = checkTargets(r);
    const missed = checks.filter((c) => !c.met);
    return `${NAMES[r.backend]}: ${missed.length === 0 ? 'all targets met' : `missed ${missed.map((c) => `${c.name} ${c.value} (target ${c.target})`).join(', ')}`}`;
  });
  return `${table}\n\n${verdicts.join('  \n')}\n`;
}
