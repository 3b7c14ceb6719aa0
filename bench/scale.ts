/**
 * `npm run bench:scale` (issue 12): the scaled-out server on this machine.
 *
 * 1. Turns: for each runner count (default 1 and 2, same run, a fresh database each), 1 API process
 *    and R runner processes; T one-step turns (plain prompt, one text answer) across S sessions
 *    posted at once: turns per second until the last one ends. Then L turns offered at --rate (under
 *    capacity) on idle sessions: POST -> turns.started_at (client clock; same machine) and the
 *    database's own turns.created_at -> started_at, p50/p95. Cost per turn: database statements
 *    (pg_stat_statements when installed, else committed transactions from pg_stat_database; the
 *    harness's own polling subtracted) and CPU ms of the server processes (/proc).
 * 2. Hook ingest: 50 senders flat out for --hook-s seconds against 1 and against 2 API processes.
 *
 *   npm run bench:scale -- [--turns 1000] [--sessions 200] [--runners 1,2] [--concurrency 4]
 *                          [--latency-turns 100] [--rate 2] [--senders 50] [--hook-s 20] [--apis 1,2]
 *                          [--layout roles|single] [--only turns,hooks]
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { startModelServer, type ModelServer } from '../src/model-server/server.ts';
import { ApiClient, ok, seededRandom } from './lib/client.ts';
import { Cluster, LAYOUTS, type Layout } from './lib/cluster.ts';
import { runHookLoad } from './lib/hook-load.ts';
import { cpuMs, percentile, round } from './lib/proc.ts';
import { createScratchDb, type ScratchDb } from './lib/scratch-db.ts';

const { values } = parseArgs({
  options: {
    turns: { type: 'string', default: '1000' },
    sessions: { type: 'string', default: '200' },
    runners: { type: 'string', default: '1,2' },
    concurrency: { type: 'string', default: '4' },
    'latency-turns': { type: 'string', default: '100' },
    rate: { type: 'string', default: '2' },
    senders: { type: 'string', default: '50' },
    'hook-s': { type: 'string', default: '20' },
    apis: { type: 'string', default: '1,2' },
    layout: { type: 'string', default: 'roles' },
    only: { type: 'string', default: 'turns,hooks' },
  },
});
const num = (raw: string, name: string) => {
  const v = Number(raw);
  if (!(v > 0)) throw new Error(`--${name} must be a positive number, got ${raw}`);
  return v;
};
const list = (raw: string, name: string) => raw.split(',').map((x) => num(x, name));
if (!(LAYOUTS as readonly string[]).includes(values.layout)) throw new Error(`--layout must be ${LAYOUTS.join(' or ')}`);
const LAYOUT = values.layout as Layout;
const PARTS = values.only.split(',');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const log = (line: string) => console.error(line);

/** Statements (or committed transactions) the database has run so far, and which counter it is. */
async function statementCount(db: ScratchDb): Promise<{ n: number; kind: string }> {
  try {
    const r = await db.pool.query<{ n: string }>('select coalesce(sum(calls), 0) as n from pg_stat_statements where dbid = (select oid from pg_database where datname = current_database())');
    return { n: Number(r.rows[0]!.n), kind: 'statements' };
  } catch {
    const r = await db.pool.query<{ n: string }>('select xact_commit as n from pg_stat_database where datname = current_database()');
    return { n: Number(r.rows[0]!.n), kind: 'transactions' };
  }
}

const serverCpu = (c: Cluster) => c.pids().reduce((sum, p) => sum + (cpuMs(p.pid) ?? 0), 0);

async function waitTurnsDone(db: ScratchDb, total: number, timeoutMs: number): Promise<number> {
  const end = Date.now() + timeoutMs;
  let polls = 0;
  for (;;) {
    polls++;
    const r = await db.pool.query<{ n: string }>(`select count(*) as n from turns where status not in ('queued', 'running')`);
    if (Number(r.rows[0]!.n) >= total) return polls;
    if (Date.now() > end) throw new Error(`only ${r.rows[0]!.n}/${total} turns ended within ${timeoutMs / 1000} s`);
    await sleep(250);
  }
}

async function turnsPart(runners: number, model: ModelServer) {
  const db = await createScratchDb('cco_bench_scale');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cco-bench-scale-'));
  const cluster = await Cluster.start({ layout: LAYOUT, api: 1, runners, concurrency: num(values.concurrency, 'concurrency'), databaseUrl: db.url, modelUrl: model.url, dir });
  try {
    const client = new ApiClient(cluster, seededRandom(1));
    const TURNS = num(values.turns, 'turns');
    const SESSIONS = Math.min(num(values.sessions, 'sessions'), TURNS);
    let tag = 0;
    const prompt = () => `TURN_ID:scale-${runners}-${++tag} one step`;
    const post = async (url: string, body: object) => {
      const a = await client.request('POST', url, body);
      if (!ok(a)) throw new Error(`POST ${url}: ${a.status} ${JSON.stringify(a.body).slice(0, 300)}`);
      return a.body;
    };
    // Throughput: every turn posted at once (a session's later turns queue behind its first).
    const s0 = await statementCount(db);
    const cpu0 = serverCpu(cluster);
    const t0 = performance.now();
    const ids: string[] = [];
    await Promise.all(
      Array.from({ length: SESSIONS }, async (_, i) => {
        const project = path.join(cluster.projectsDir, `s${i}`);
        fs.mkdirSync(project, { recursive: true });
        const s = await post('/api/sessions', { prompt: prompt(), project_path: project });
        ids[i] = s.id as string;
        for (let k = i + SESSIONS; k < TURNS; k += SESSIONS) await post(`/api/sessions/${s.id}/messages`, { direction: 'user', content: prompt() });
      }),
    );
    const polls = await waitTurnsDone(db, TURNS, 30 * 60_000);
    const wall = (performance.now() - t0) / 1000;
    const s1 = await statementCount(db);
    const cpu1 = serverCpu(cluster);
    // Latency under capacity: one turn at a time per idle session, offered at --rate.
    const L = num(values['latency-turns'], 'latency-turns');
    const rate = num(values.rate, 'rate');
    const sentAt = new Map<number, number>();
    const tl = Date.now();
    await Promise.all(
      Array.from({ length: L }, async (_, i) => {
        await sleep(Math.max(0, tl + (i * 1000) / rate - Date.now()));
        const sent = Date.now();
        const m = await post(`/api/sessions/${ids[i % ids.length]}/messages`, { direction: 'user', content: prompt() });
        sentAt.set(Number(m.turn.id), sent);
      }),
    );
    await waitTurnsDone(db, TURNS + L, 10 * 60_000);
    const rows = (await db.pool.query<{ id: string; created_at: Date; started_at: Date }>('select id, created_at, started_at from turns where id = any($1::bigint[])', [[...sentAt.keys()]])).rows;
    const fromPost = rows.map((r) => r.started_at.getTime() - sentAt.get(Number(r.id))!);
    const inDb = rows.map((r) => r.started_at.getTime() - r.created_at.getTime());
    const statusRows = (await db.pool.query<{ status: string; n: string }>('select status, count(*) as n from turns group by status')).rows;
    return {
      runners,
      turns: TURNS,
      sessions: SESSIONS,
      turns_per_s: round(TURNS / wall, 2),
      wall_s: round(wall, 1),
      latency_turns: L,
      rate_per_s: rate,
      post_to_start_p50_ms: round(percentile(fromPost, 50)),
      post_to_start_p95_ms: round(percentile(fromPost, 95)),
      created_to_started_p50_ms: round(percentile(inDb, 50)),
      created_to_started_p95_ms: round(percentile(inDb, 95)),
      [`${s0.kind}_per_turn`]: round((s1.n - s0.n - polls - 2) / TURNS, 1),
      server_cpu_ms_per_turn: round((cpu1 - cpu0) / TURNS, 1),
      statuses: Object.fromEntries(statusRows.map((r) => [r.status, Number(r.n)])),
    };
  } finally {
    await cluster.stop();
    await db.drop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function hooksPart(apis: number, model: ModelServer) {
  const db = await createScratchDb('cco_bench_scale');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cco-bench-scale-'));
  // Ingest needs no runner; the single layout has none to leave out.
  const cluster = await Cluster.start({ layout: LAYOUT, api: apis, runners: 0, concurrency: 1, databaseUrl: db.url, modelUrl: model.url, dir });
  try {
    const client = new ApiClient(cluster, seededRandom(2));
    const r = await runHookLoad({ client, senders: num(values.senders, 'senders'), durationMs: num(values['hook-s'], 'hook-s') * 1000, runTag: `scale${apis}` });
    const ms = r.samples.map((s) => s.ms);
    return {
      api_processes: LAYOUT === 'single' ? 1 : apis,
      senders: num(values.senders, 'senders'),
      events: r.sent,
      events_per_s: round(r.sent / (r.elapsedMs / 1000), 0),
      p50_ms: round(percentile(ms, 50)),
      p95_ms: round(percentile(ms, 95)),
      p99_ms: round(percentile(ms, 99)),
      errors: r.errors,
    };
  } finally {
    await cluster.stop();
    await db.drop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const table = (rows: Array<Record<string, unknown>>) => {
  if (!rows.length) return '';
  const keys = Object.keys(rows[0]!);
  const cell = (v: unknown) => (typeof v === 'object' ? JSON.stringify(v) : String(v));
  return [`| ${keys.join(' | ')} |`, `|${keys.map(() => ' --- ').join('|')}|`, ...rows.map((r) => `| ${keys.map((k) => cell(r[k])).join(' | ')} |`)].join('\n');
};

const model = await startModelServer({ record: false });
let code = 0;
try {
  log(`bench:scale ${new Date().toISOString()} node ${process.version}, ${os.cpus().length} cores, load ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}, layout ${LAYOUT}`);
  const turns = [];
  if (PARTS.includes('turns')) {
    for (const r of list(values.runners, 'runners')) {
      turns.push(await turnsPart(r, model));
      log(JSON.stringify(turns.at(-1)));
    }
  }
  const hooks = [];
  if (PARTS.includes('hooks')) {
    for (const a of list(values.apis, 'apis')) {
      hooks.push(await hooksPart(a, model));
      log(JSON.stringify(hooks.at(-1)));
    }
  }
  const out = path.join(import.meta.dirname, 'results');
  fs.mkdirSync(out, { recursive: true });
  fs.writeFileSync(path.join(out, 'scale.json'), `${JSON.stringify({ date: new Date().toISOString(), layout: LAYOUT, turns, hooks }, null, 2)}\n`);
  console.log(`\n## Turns\n\n${table(turns)}\n\n## Hook ingest\n\n${table(hooks)}\n\nload at the end: ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
} catch (e: unknown) {
  console.error((e as Error).stack ?? String(e));
  code = 1;
} finally {
  await model.close();
}
process.exit(code);
