/**
 * npm run bench:hooks — figures for BENCHMARKS.md (issue 4).
 *
 * 1. Wall time a hook adds to a tool call: the cco-hook.sh forwarder vs a plain
 *    `curl` POST hook, interleaved in one run, each started the way Claude Code
 *    starts command hooks (/bin/sh -c "<command>", payload on stdin).
 * 2. Delivery latency: hook start (the tool has just ended) -> the row committed
 *    (its EventBus event, published after commit).
 * 3. 1,000 events (100 runs x 10 events of 5 kinds) at 10/s with the server down
 *    for 60 s in the middle: events lost, rows duplicated, redeliveries absorbed.
 *
 * The server is the real one (`startServer`), on the embedded PostgreSQL in a temporary
 * folder, or on PostgreSQL when DATABASE_URL is set. Env: BENCH_N (default 300),
 * BENCH_OUTAGE_S (default 60), BENCH_EVENTS (default 1000; 0 skips part 3).
 */
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openDatabase } from '../src/db/database.ts';
import { forwarderShell, PACKAGED_SCRIPT } from '../src/hooks/installer.ts';
import { shellQuote as q } from '../src/hooks/settings-merge.ts';

const N = Number(process.env.BENCH_N ?? 300);
const OUTAGE_S = Number(process.env.BENCH_OUTAGE_S ?? 60);
const EVENTS = Number(process.env.BENCH_EVENTS ?? 1000);
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cco-bench-hooks-'));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
};
const fmt = (xs: number[]) => `p50 ${pct(xs, 50).toFixed(1)} ms, p95 ${pct(xs, 95).toFixed(1)} ms, max ${Math.max(...xs).toFixed(1)} ms (n=${xs.length})`;

let port = 0;
const DATA_DIR = path.join(tmp, 'data');
/** Tool rows committed by the server process: tool_use_id -> wall-clock ms. */
const rows = new Map<string, number>();

interface Server {
  url: string;
  stop(): Promise<void>;
}

/** Starts bench/hooks-server.ts in its own process (same port after a restart). */
function start(): Promise<Server> {
  const child: ChildProcess = fork(path.join(import.meta.dirname, 'hooks-server.ts'), {
    execArgv: ['--import', 'tsx'],
    // One forwarder flood from one address: the hook budget would cut the measurement short.
    env: { ...process.env, PORT: String(port), DATA_DIR, RATE_LIMIT_PER_MIN: '0', RATE_LIMIT_HOOKS_PER_MIN: '0' },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (code) => reject(new Error(`server exited with ${code}`)));
    child.on('message', (m: { type: string; url?: string; id?: string; at?: number }) => {
      if (m.type === 'row' && m.id && m.at) rows.set(m.id, m.at);
      if (m.type === 'ready' && m.url) {
        port = Number(new URL(m.url).port);
        resolve({
          url: m.url,
          stop: () =>
            new Promise<void>((done) => {
              child.removeAllListeners('exit');
              child.once('exit', () => done());
              child.send('stop');
            }),
        });
      }
    });
  });
}

/** A Bash PostToolUse payload like Claude Code's (reference §1.3), about 1.5 KB. */
const toolPayload = (sid: string, id: string) => ({
  session_id: sid, transcript_path: `/home/agent/.claude/projects/-srv-work-proj/${sid}.jsonl`, cwd: '/srv/work/proj',
  prompt_id: randomUUID(), permission_mode: 'default', effort: { level: 'medium' }, hook_event_name: 'PostToolUse', tool_name: 'Bash',
  tool_input: { command: 'npm test -- --reporter dot', description: 'run the tests' },
  tool_response: { stdout: `${'.'.repeat(1200)}\n42 passing`, stderr: '', interrupted: false, isImage: false, noOutputExpected: false },
  tool_use_id: id, duration_ms: 840,
});

function runCommand(command: string, payload: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const c = spawn('/bin/sh', ['-c', command], { stdio: ['pipe', 'ignore', 'ignore'], env: { PATH: process.env.PATH, HOME: tmp, ANTHROPIC_API_KEY: 'sk-bench-not-a-key' } });
    c.stdin.on('error', () => {});
    c.stdin.end(payload);
    c.on('error', reject);
    c.on('close', () => resolve(performance.now() - t0));
  });
}

const forwarderCmd = (url: string, spool: string, event: string) => `exec ${forwarderShell()} ${q(PACKAGED_SCRIPT)} --url ${q(url)} --spool ${q(spool)} ${event}`;
const curlCmd = (url: string) => `curl -s -o /dev/null -m 5 -H 'content-type: application/json' --data-binary @- ${q(`${url}/api/hooks/PostToolUse`)}`;

async function waitDrained(spool: string, timeoutMs: number) {
  const end = Date.now() + timeoutMs;
  const left = () => (fs.existsSync(`${spool}/queue`) ? fs.readdirSync(`${spool}/queue`).filter((f) => f.endsWith('.ok')).length : 0);
  while ((left() > 0 || fs.existsSync(`${spool}/worker.lock`)) && Date.now() < end) await sleep(50);
  return left();
}

async function hookCost(server: Server) {
  const spool = path.join(tmp, 'spool-cost');
  const sid = randomUUID();
  const fwd: number[] = [];
  const curl: number[] = [];
  for (let i = 0; i < N; i++) {
    // Interleaved, 30 ms apart (tool calls are further apart than that in practice).
    fwd.push(await runCommand(forwarderCmd(server.url, spool, 'PostToolUse'), JSON.stringify(toolPayload(sid, `toolu_f${i}`))));
    await sleep(30);
    curl.push(await runCommand(curlCmd(server.url), JSON.stringify(toolPayload(sid, `toolu_c${i}`))));
    await sleep(30);
  }
  await waitDrained(spool, 30_000);
  const burst: number[] = [];
  for (let i = 0; i < 100; i++) burst.push(await runCommand(forwarderCmd(server.url, spool, 'PostToolUse'), JSON.stringify(toolPayload(sid, `toolu_b${i}`))));
  await waitDrained(spool, 30_000);
  return { fwd, curl, burst };
}

async function deliveryLatency(server: Server) {
  const spool = path.join(tmp, 'spool-latency');
  const sid = randomUUID();
  const started = new Map<string, number>();
  for (let i = 0; i < Math.min(N, 200); i++) {
    const id = `toolu_lat${i}`;
    started.set(id, performance.timeOrigin + performance.now());
    await runCommand(forwarderCmd(server.url, spool, 'PostToolUse'), JSON.stringify(toolPayload(sid, id)));
    await sleep(100);
  }
  await waitDrained(spool, 30_000);
  await sleep(200);
  return [...started].map(([id, t0]) => (rows.get(id) ?? Infinity) - t0);
}

function runEvents(sid: string, r: number) {
  const c = { session_id: sid, transcript_path: `/tmp/${sid}.jsonl`, cwd: `/srv/work/run-${r}` };
  const prompt = randomUUID();
  const evs: Array<[string, unknown]> = [
    ['SessionStart', { ...c, hook_event_name: 'SessionStart', source: 'startup' }],
    ['UserPromptSubmit', { ...c, prompt_id: prompt, hook_event_name: 'UserPromptSubmit', prompt: `task ${r}` }],
  ];
  for (let i = 0; i < 6; i++) evs.push(['PostToolUse', { ...toolPayload(sid, `toolu_${sid.slice(0, 8)}_${i}`), prompt_id: prompt }]);
  evs.push(['Stop', { ...c, prompt_id: prompt, hook_event_name: 'Stop', stop_hook_active: false, last_assistant_message: `done ${r}`, background_tasks: [] }]);
  evs.push(['SessionEnd', { ...c, prompt_id: prompt, hook_event_name: 'SessionEnd', reason: 'other' }]);
  return evs;
}

async function outageRun(first: Server): Promise<{ server: Server; report: string }> {
  const before = rows.size;
  let server = first;
  const spool = path.join(tmp, 'spool-outage');
  const runs = Math.ceil(EVENTS / 10);
  const sids = Array.from({ length: runs }, () => randomUUID());
  const all = sids.flatMap((sid, r) => runEvents(sid, r)).slice(0, EVENTS);
  const perSecond = 10;
  const downAt = Math.floor((all.length / perSecond - OUTAGE_S) / 2) * 1000;
  const t0 = Date.now();
  let down = false;
  let outage: Promise<void> | undefined;
  const pending: Array<Promise<number>> = [];
  for (let i = 0; i < all.length; i++) {
    const due = t0 + (i * 1000) / perSecond;
    if (due > Date.now()) await sleep(due - Date.now());
    if (!down && !outage && Date.now() - t0 >= downAt) {
      down = true;
      await server.stop();
      process.stdout.write(`  server down at ${((Date.now() - t0) / 1000).toFixed(1)} s (event ${i})\n`);
      outage = sleep(OUTAGE_S * 1000).then(async () => {
        server = await start();
        down = false;
        process.stdout.write(`  server up again at ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
      });
    }
    const [event, payload] = all[i]!;
    pending.push(runCommand(forwarderCmd(`http://127.0.0.1:${port}`, spool, event), JSON.stringify(payload)));
  }
  await Promise.all(pending);
  await outage;
  const left = await waitDrained(spool, 120_000);
  // Count in the database itself, with the server stopped (the embedded database has one owner at a time).
  await server.stop();
  const database = await openDatabase({ url: process.env.DATABASE_URL, dataDir: DATA_DIR, poolMax: 2 });
  const db = database.db;
  const sessions = await db.selectFrom('sessions').select(['id', 'claude_session_id', 'status']).where('claude_session_id', 'in', sids).execute();
  const ids = sessions.map((s) => s.id);
  const logs = await db.selectFrom('command_logs').select(['session_id', 'tool_use_id']).where('session_id', 'in', ids).execute();
  const events = await db.selectFrom('session_events').select(['session_id', 'event']).where('session_id', 'in', ids).execute();
  const msgs = await db.selectFrom('session_messages').select(['session_id', 'direction']).where('session_id', 'in', ids).execute();
  const expected = { tool: all.filter(([e]) => e === 'PostToolUse').length, other: all.filter(([e]) => e !== 'PostToolUse').length };
  const distinctLogs = new Set(logs.map((l) => `${l.session_id}/${l.tool_use_id}`)).size;
  const distinctEvents = new Set(events.map((e) => `${e.session_id}/${e.event}`)).size;
  const lost = expected.tool - distinctLogs + (expected.other - distinctEvents);
  const dupRows = logs.length - distinctLogs + (events.length - distinctEvents);
  const dead = fs.existsSync(`${spool}/dead`) ? fs.readdirSync(`${spool}/dead`).filter((f) => f.endsWith('.json')).length : 0;
  const completed = sessions.filter((s) => s.status === 'completed').length;
  await database.close();
  server = await start();
  return {
    server,
    report: [
      `  events sent ${all.length} (${runs} runs), still queued ${left}, dead-lettered ${dead}`,
      `  sessions ${sessions.length}/${runs} (completed ${completed}), command logs ${logs.length}/${expected.tool}, session events ${events.length}/${expected.other}, messages ${msgs.length}/${runs * 2}`,
      `  LOST ${lost}, DUPLICATED ${dupRows}; tool rows committed during the run ${rows.size - before}`,
    ].join('\n'),
  };
}

const cores = os.cpus().length;
process.stdout.write(`bench:hooks ${new Date().toISOString()} node ${process.version}, ${cores} cores, load ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}, ${process.env.DATABASE_URL ? 'PostgreSQL server' : 'embedded PostgreSQL'}\n`);
let server = await start();
try {
  const cost = await hookCost(server);
  process.stdout.write(`1. wall time per hook call (30 ms apart, interleaved):\n  forwarder ${fmt(cost.fwd)}\n  curl POST ${fmt(cost.curl)}\n  forwarder back-to-back: ${fmt(cost.burst)}\n`);
  const lat = await deliveryLatency(server);
  process.stdout.write(`2. delivery latency, hook start -> row committed: ${fmt(lat)}\n`);
  if (EVENTS > 0) {
    process.stdout.write(`3. ${EVENTS} events at 10/s, server down ${OUTAGE_S} s in the middle:\n`);
    const out = await outageRun(server);
    server = out.server;
    process.stdout.write(`${out.report}\n`);
  }
  process.stdout.write(`load at the end: ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}\n`);
} finally {
  await server.stop();
  fs.rmSync(tmp, { recursive: true, force: true });
}
