/**
 * npm run bench:webhooks — issue 14's webhook figures, against a real `cco serve` (its own process,
 * the embedded default database, the scripted model, real Claude Code) and a local receiver
 * (node:http, checking every signature):
 *   1. deliveries per second: --throughput-events events (unmanaged sessions: created, paused,
 *      resumed, closed: 5 events each) made as fast as the API takes them, receiver up; the rate is
 *      deliveries over the time from the first request to the last delivery (bounded by how fast
 *      the events are made, which is printed too), with event → delivery latency;
 *   2. latency from a turn's end (turn.completed's ended_at) to its delivery, p50/p95 over --turns
 *      real turns, one started every --gap-ms (goal: p95 under 200 ms);
 *   3. --events events made while the receiver is down for --outage-s seconds, then up: every one
 *      must arrive (0 lost) and each session's in order (0 out of order); duplicates are counted
 *      (delivery is at least once; none are expected without a crash).
 * Options shrink it: --events 50 --outage-s 5 --turns 3 --throughput-events 50 is a smoke run.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { startModelServer } from '../src/model-server/server.ts';
import { claudeTestEnv } from '../test/helpers/claude.ts';
import { waitFor } from '../test/helpers/runner.ts';
import { startServeProcess } from '../test/helpers/serve.ts';
import { WebhookReceiver, type Received } from '../test/helpers/webhook-receiver.ts';
import { client } from '../test/helpers/webhooks.ts';
import { percentile, round } from './lib/proc.ts';

const { values: args } = parseArgs({
  options: {
    events: { type: 'string', default: '10000' },
    'outage-s': { type: 'string', default: '60' },
    turns: { type: 'string', default: '50' },
    'gap-ms': { type: 'string', default: '1000' },
    'throughput-events': { type: 'string', default: '2000' },
    concurrency: { type: 'string', default: '16' },
    json: { type: 'boolean', default: false },
  },
});
const EVENTS = Number(args.events);
const OUTAGE_MS = Number(args['outage-s']) * 1000;
const TURNS = Number(args.turns);
const GAP = Number(args['gap-ms']);
const THROUGHPUT_EVENTS = Number(args['throughput-events']);
const CONCURRENCY = Number(args.concurrency);
const PER_SESSION = ['session.created', 'session.status_changed', 'session.status_changed', 'session.status_changed', 'session.completed'];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const stats = (xs: number[]) => ({ n: xs.length, p50: round(percentile(xs, 50)), p95: round(percentile(xs, 95)), max: round(Math.max(...xs)) });
const say = (line: string) => {
  if (!args.json) process.stdout.write(`${line}\n`);
};

const receiver = await WebhookReceiver.start();
const model = await startModelServer({ port: 0 });
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cco-bench-webhooks-'));
const server = await startServeProcess({
  ...(claudeTestEnv({ baseUrl: model.url, configDir: path.join(dir, 'claude') }) as Record<string, string>),
  DATA_DIR: path.join(dir, 'data'),
  WORKSPACES_DIR: path.join(dir, 'ws'),
  DATABASE_URL: '',
  // info: startServeProcess reads the URL from the 'listening' line.
  LOG_LEVEL: 'info',
  WEBHOOK_ALLOW_PRIVATE_HOSTS: '127.0.0.1',
}, 120_000);
const api = client(server.url);

async function subscribe(p: string, events: string[]): Promise<void> {
  const r = await api('POST', '/api/webhooks', { url: `${receiver.url}${p}`, events });
  if (r.status !== 201) throw new Error(`subscribe: ${r.status} ${JSON.stringify(r.body)}`);
  receiver.secrets.set(p, r.body.secret);
}

/** `sessions` unmanaged sessions, each created, paused, resumed and closed (5 events), `CONCURRENCY` at a time. */
async function makeEvents(sessions: number): Promise<string[]> {
  const ids: string[] = [];
  let next = 0;
  const step = async (method: string, p: string, body: unknown) => {
    const r = await api(method, p, body);
    if (r.status >= 300) throw new Error(`${method} ${p}: ${r.status} ${JSON.stringify(r.body)}`);
    return r.body;
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (next < sessions) {
      next += 1;
      const s = await step('POST', '/api/sessions', { project_path: `/srv/bench/${next}` });
      ids.push(s.id);
      for (const status of ['paused', 'active', 'completed']) await step('PATCH', `/api/sessions/${s.id}`, { status });
    }
  }));
  return ids;
}

const byPath = (p: string) => receiver.accepted().filter((r) => r.path === p);

/** Lost, out-of-order and doubled events of `ids` at path `p` (first arrival of each event counts for order). */
function check(p: string, ids: string[]) {
  const seen = new Map<string, Received[]>();
  for (const r of byPath(p)) seen.set(r.json.data.session_id, [...(seen.get(r.json.data.session_id) ?? []), r]);
  let lost = 0;
  let outOfOrder = 0;
  let doubled = 0;
  for (const id of ids) {
    const got = seen.get(id) ?? [];
    const firsts = got.filter((r, i) => got.findIndex((x) => x.json.id === r.json.id) === i);
    doubled += got.length - firsts.length;
    lost += Math.max(0, PER_SESSION.length - firsts.length);
    if (firsts.map((r) => r.json.type).join() !== PER_SESSION.slice(0, firsts.length).join()) outOfOrder += 1;
  }
  return { lost, out_of_order_sessions: outOfOrder, doubled, invalid_signatures: byPath(p).filter((r) => !r.valid).length };
}

try {
  // Warm-up: the first turn and request pay for lazy loading.
  await subscribe('/warm', ['turn.completed']);
  await api('POST', '/api/sessions', { prompt: 'warm up' });
  await waitFor('warm-up turn', async () => byPath('/warm').length > 0, 120_000);

  // 1. Throughput with the receiver up.
  await subscribe('/throughput', ['session.created', 'session.status_changed', 'session.completed']);
  const tSessions = Math.ceil(THROUGHPUT_EVENTS / PER_SESSION.length);
  const t0 = Date.now();
  const tIds = await makeEvents(tSessions);
  const madeMs = Date.now() - t0;
  await waitFor('throughput deliveries', async () => byPath('/throughput').length >= tSessions * PER_SESSION.length, 30 * 60_000);
  const tDone = Math.max(...byPath('/throughput').map((r) => r.at));
  const throughput = {
    events: tSessions * PER_SESSION.length,
    events_made_per_s: round((tSessions * PER_SESSION.length) / (madeMs / 1000)),
    deliveries_per_s: round(byPath('/throughput').length / ((tDone - t0) / 1000)),
    event_to_delivery_ms: stats(byPath('/throughput').map((r) => r.at - Date.parse(r.json.created_at))),
    ...check('/throughput', tIds),
  };
  say(`throughput: ${throughput.events} events made at ${throughput.events_made_per_s}/s, delivered at ${throughput.deliveries_per_s}/s; event → delivery p50 ${throughput.event_to_delivery_ms.p50} ms, p95 ${throughput.event_to_delivery_ms.p95} ms`);

  // 2. Turn end → delivery.
  await subscribe('/turns', ['turn.completed']);
  for (let i = 0; i < TURNS; i++) {
    const r = await api('POST', '/api/sessions', { prompt: `bench turn ${i}` });
    if (r.status !== 201) throw new Error(`turn ${i}: ${r.status}`);
    await sleep(GAP);
  }
  await waitFor('every turn delivered', async () => byPath('/turns').length >= TURNS, 30 * 60_000);
  const lags = byPath('/turns').map((r) => r.at - Date.parse(r.json.data.ended_at));
  const turnLatency = stats(lags);
  say(`turn end → delivery (n=${turnLatency.n}): p50 ${turnLatency.p50} ms, p95 ${turnLatency.p95} ms, max ${turnLatency.max} ms (goal p95 < 200 ms)`);

  // 3. An outage.
  await subscribe('/outage', ['session.created', 'session.status_changed', 'session.completed']);
  const oSessions = Math.ceil(EVENTS / PER_SESSION.length);
  await receiver.down();
  const down = Date.now();
  const oIds = await makeEvents(oSessions);
  const madeIn = Date.now() - down;
  await sleep(Math.max(0, OUTAGE_MS - (Date.now() - down)));
  await receiver.up();
  const upAt = Date.now();
  await waitFor('every event after the outage', async () => new Set(byPath('/outage').map((r) => r.json.id)).size >= oSessions * PER_SESSION.length, 60 * 60_000).catch(() => undefined);
  const last = Math.max(...byPath('/outage').map((r) => r.at));
  const outage = {
    events: oSessions * PER_SESSION.length,
    outage_s: round((upAt - down) / 1000),
    made_in_s: round(madeIn / 1000),
    drained_in_s_after_up: round((last - upAt) / 1000),
    ...check('/outage', oIds),
  };
  say(`outage: ${outage.events} events made in ${outage.made_in_s} s during a ${outage.outage_s} s outage; all in ${outage.drained_in_s_after_up} s after it; lost ${outage.lost}, sessions out of order ${outage.out_of_order_sessions}, doubled ${outage.doubled}, bad signatures ${outage.invalid_signatures}`);

  if (args.json) {
    process.stdout.write(`${JSON.stringify({ machine: `${os.cpus().length} × ${os.cpus()[0]?.model ?? '?'}`, throughput, turn_end_to_delivery_ms: turnLatency, outage }, null, 2)}\n`);
  }
  if (outage.lost > 0 || outage.out_of_order_sessions > 0) process.exitCode = 1;
} finally {
  server.child.kill('SIGTERM');
  await new Promise((r) => server.child.once('exit', r));
  await receiver.stop();
  await model.close();
  fs.rmSync(dir, { recursive: true, force: true });
}
