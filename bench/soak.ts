/**
 * `npm run bench:soak` (issue 12): the scaled-out set of processes (2 API, 2 runners) under steady
 * load for 10 minutes: hook events at half the measured ingest capacity (--capacity, from
 * bench:scale; or --rate directly) plus 20 sessions turning over one-step scripted turns one after
 * another. Every 10 s: RSS and PSS of every server process. At the end: error answers, events
 * acknowledged but not stored, p99 of the first and the last window, and a verdict:
 * memory growth under 10% after the first window, no errors, nothing lost, last p99 within 20% of the first.
 * The window is a minute, or a third of a shorter run.
 *
 *   npm run bench:soak -- [--duration-s 600] (--capacity N | --rate N) [--senders 20] [--sessions 20]
 *                         [--layout roles|single] [--api 2] [--runners 2] [--concurrency 4]
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { startModelServer } from '../src/model-server/server.ts';
import { ApiClient, ok, seededRandom } from './lib/client.ts';
import { Cluster, LAYOUTS, type Layout } from './lib/cluster.ts';
import { runHookLoad, type HookSample } from './lib/hook-load.ts';
import { memoryMb, percentile, round } from './lib/proc.ts';
import { createScratchDb } from './lib/scratch-db.ts';

const { values } = parseArgs({
  options: {
    'duration-s': { type: 'string', default: '600' },
    capacity: { type: 'string' },
    rate: { type: 'string' },
    senders: { type: 'string', default: '20' },
    sessions: { type: 'string', default: '20' },
    layout: { type: 'string', default: 'roles' },
    api: { type: 'string', default: '2' },
    runners: { type: 'string', default: '2' },
    concurrency: { type: 'string', default: '4' },
  },
});
const num = (name: keyof typeof values) => {
  const v = Number(values[name]);
  if (!(v > 0)) throw new Error(`--${name} must be a positive number, got ${values[name]}`);
  return v;
};
if (!(LAYOUTS as readonly string[]).includes(values.layout!)) throw new Error(`--layout must be ${LAYOUTS.join(' or ')}`);
if (values.rate === undefined && values.capacity === undefined) throw new Error('give --capacity (events/s measured by bench:scale; half is offered) or --rate');
const RATE = values.rate !== undefined ? num('rate') : num('capacity') / 2;
const DURATION_MS = num('duration-s') * 1000;
const WINDOW_MS = Math.min(60_000, DURATION_MS / 3);
const SAMPLE_MS = 10_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const log = (line: string) => console.error(line);

/** Sessions that each post a one-step turn, wait for it to end, and post the next, until `stop`. */
async function turnOver(client: ApiClient, c: Cluster, sessions: number, stop: () => boolean) {
  let turns = 0;
  let errors = 0;
  const one = async (i: number) => {
    const project = path.join(c.projectsDir, `soak${i}`);
    fs.mkdirSync(project, { recursive: true });
    let id: string | undefined;
    let k = 0;
    while (!stop()) {
      const content = `TURN_ID:soak-${i}-${k++} SCRIPT:bash`;
      const a = id
        ? await client.request('POST', `/api/sessions/${id}/messages`, { direction: 'user', content })
        : await client.request('POST', '/api/sessions', { prompt: content, project_path: project, allowed_tools: ['Bash'] });
      if (!ok(a)) {
        errors++;
        await sleep(1000);
        continue;
      }
      id ??= a.body.id as string;
      for (;;) {
        await sleep(300);
        const s = await client.request('GET', `/api/sessions/${id}`);
        if (!ok(s)) errors++;
        else if (s.body.turn_state === 'idle') break;
        if (stop()) return;
      }
      turns++;
    }
  };
  await Promise.all(Array.from({ length: sessions }, (_, i) => one(i)));
  return { turns, errors };
}

const model = await startModelServer({ record: false });
const db = await createScratchDb('cco_bench_soak');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cco-bench-soak-'));
let code: number;
let cluster: Cluster | undefined;
try {
  cluster = await Cluster.start({ layout: values.layout as Layout, api: num('api'), runners: num('runners'), concurrency: num('concurrency'), databaseUrl: db.url, modelUrl: model.url, dir });
  const c = cluster;
  log(`bench:soak ${new Date().toISOString()}: ${c.members.map((m) => m.name).join(', ')}; hooks at ${RATE}/s for ${DURATION_MS / 1000} s, ${num('sessions')} sessions turning over; window ${WINDOW_MS / 1000} s`);
  const client = new ApiClient(c, seededRandom(3));
  const memory: Array<{ at: number; mb: Record<string, { rss: number; pss: number }> }> = [];
  const t0 = performance.now();
  const sample = () => {
    const mb: Record<string, { rss: number; pss: number }> = {};
    for (const p of c.pids()) {
      const m = memoryMb(p.pid);
      if (m) mb[p.name] = { rss: round(m.rss), pss: round(m.pss) };
    }
    memory.push({ at: performance.now() - t0, mb });
    log(`  ${((performance.now() - t0) / 1000).toFixed(0)} s: ${Object.entries(mb).map(([n, m]) => `${n} ${m.pss} MB`).join(', ')}`);
  };
  sample();
  const sampler = setInterval(sample, SAMPLE_MS);
  let done = false;
  const turning = turnOver(client, c, num('sessions'), () => done);
  const hooks = await runHookLoad({ client, senders: num('senders'), durationMs: DURATION_MS, ratePerS: RATE, runTag: 'soak' });
  done = true;
  const turns = await turning;
  clearInterval(sampler);
  sample();
  const stored = new Set((await db.pool.query<{ tool_use_id: string }>('select tool_use_id from command_logs where tool_use_id like $1', ['toolu_soak_%'])).rows.map((r) => r.tool_use_id));
  const lost = hooks.acked.filter((id) => !stored.has(id)).length;
  const p99 = (xs: HookSample[]) => percentile(xs.map((s) => s.ms), 99);
  const first = p99(hooks.samples.filter((s) => s.at < WINDOW_MS));
  const last = p99(hooks.samples.filter((s) => s.at >= hooks.elapsedMs - WINDOW_MS));
  // Memory: the first sample at or after one window, against the last sample, per process.
  const base = memory.find((m) => m.at >= WINDOW_MS) ?? memory[0]!;
  const end = memory.at(-1)!;
  const growth = Object.fromEntries(Object.keys(end.mb).filter((n) => base.mb[n]).map((n) => [n, round((end.mb[n]!.pss / base.mb[n]!.pss - 1) * 100)]));
  const restarted = c.members.filter((m) => m.starts > 1).map((m) => m.name);
  const checks = {
    'memory growth < 10% after the first window': Object.values(growth).every((g) => g < 10),
    'no error answers': hooks.errors === 0 && turns.errors === 0,
    'nothing lost': lost === 0,
    'last p99 within 20% of the first': last <= first * 1.2,
    'every process stayed up': restarted.length === 0 && c.pids().length === c.members.length,
  };
  const verdict = Object.values(checks).every(Boolean);
  const result = { date: new Date().toISOString(), duration_s: DURATION_MS / 1000, rate_per_s: RATE, hooks: { sent: hooks.sent, errors: hooks.errors, lost, p99_first_ms: round(first), p99_last_ms: round(last) }, turns, memory_growth_pct: growth, memory, checks, verdict };
  const out = path.join(import.meta.dirname, 'results');
  fs.mkdirSync(out, { recursive: true });
  fs.writeFileSync(path.join(out, 'soak.json'), `${JSON.stringify(result, null, 2)}\n`);
  console.log(
    [
      `bench:soak ${DURATION_MS / 1000} s, hooks at ${RATE}/s (${hooks.sent} sent, ${hooks.errors} errors, ${lost} lost), ${turns.turns} turns (${turns.errors} errors)`,
      `  p99 first window ${round(first)} ms, last ${round(last)} ms; PSS growth after the first window: ${Object.entries(growth).map(([n, g]) => `${n} ${g}%`).join(', ')}`,
      ...Object.entries(checks).map(([k, v]) => `  ${v ? 'ok  ' : 'FAIL'} ${k}`),
      `verdict: ${verdict ? 'PASS' : 'FAIL'}`,
    ].join('\n'),
  );
  code = verdict ? 0 : 1;
} catch (e: unknown) {
  console.error((e as Error).stack ?? String(e));
  code = 2;
} finally {
  await cluster?.stop();
  await model.close();
  await db.drop();
  fs.rmSync(dir, { recursive: true, force: true });
}
process.exit(code);
