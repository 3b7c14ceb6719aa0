/**
 * npm run bench:slack — issue 13's two figures, against a real `cco serve` (its own process, the
 * embedded default database, the scripted model, real Claude Code) and the Slack stand-in:
 *   1. signed slash command → its acknowledgement (p50/p95 over --commands, default 200): starts
 *      (kept in the inbox, then acknowledged; the sessions are made and run after the ack, so
 *      later acks are measured while earlier turns run) and `/claude status` (answered in the ack);
 *   2. a turn's end (turns.ended_at) → its notice reaching the stand-in (p50/p95 over every turn).
 * Goals: ack p95 < 50 ms (Slack allows 3 s); notice p95 < 500 ms.
 * Options: --commands N, --gap-ms M (between one start and the next; default 1000: a start a
 * second, inside what 2 cores can run at ~3.7 turns/s; a smaller gap measures an overloaded
 * machine, where every process waits for CPU), --json.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { startModelServer } from '../src/model-server/server.ts';
import { claudeTestEnv } from '../test/helpers/claude.ts';
import { waitFor } from '../test/helpers/runner.ts';
import { startServeProcess } from '../test/helpers/serve.ts';
import { BOT_TOKEN, commandBody, sendToSlackEndpoint, SIGNING_SECRET } from '../test/helpers/slack.ts';
import { SlackStandin } from '../test/helpers/slack-standin.ts';
import { percentile, round } from './lib/proc.ts';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const { values: args } = parseArgs({ options: { commands: { type: 'string', default: '200' }, 'gap-ms': { type: 'string', default: '1000' }, json: { type: 'boolean', default: false } } });
const N = Number(args.commands);
const GAP = Number(args['gap-ms']);
const LOAD_BEFORE = os.loadavg()[0];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const stats = (xs: number[]) => ({ n: xs.length, p50: round(percentile(xs, 50)), p95: round(percentile(xs, 95)), max: round(Math.max(...xs)) });

const standin = await SlackStandin.start({ botToken: BOT_TOKEN, teamId: 'T0BENCH' });
const model = await startModelServer({ port: 0 });
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cco-bench-slack-'));
const server = await startServeProcess({
  ...(claudeTestEnv({ baseUrl: model.url, configDir: path.join(dir, 'claude') }) as Record<string, string>),
  DATA_DIR: path.join(dir, 'data'),
  DATABASE_URL: '',
  LOG_LEVEL: 'info',
  SLACK_BOT_TOKEN: BOT_TOKEN,
  SLACK_SIGNING_SECRET: SIGNING_SECRET,
  SLACK_API_URL: standin.apiUrl,
}, 120_000);
try {
  const get = async (p: string): Promise<Json> => (await fetch(`${server.url}${p}`)).json() as Promise<Json>;
  // Warm-up: the first request of each kind pays for lazy loading (Bolt's auth.test, module JIT).
  await sendToSlackEndpoint(server.url, commandBody(standin, { text: 'status', channel: 'C0WARM' }), { form: true });
  await sendToSlackEndpoint(server.url, commandBody(standin, { text: 'warm up', channel: 'C0WARM' }), { form: true });

  const startAcks: number[] = [];
  const statusAcks: number[] = [];
  for (let i = 0; i < N; i++) {
    const r = await sendToSlackEndpoint(server.url, commandBody(standin, { text: `bench session ${i}`, channel: `C0BENCH${i % 10}`, user: `U0USER${i % 20}` }), { form: true });
    if (r.status !== 200) throw new Error(`start ${i}: ${r.status} ${r.text}`);
    startAcks.push(r.ms);
    await sleep(GAP / 2);
    const s = await sendToSlackEndpoint(server.url, commandBody(standin, { text: 'status', channel: `C0BENCH${i % 10}`, user: `U0USER${i % 20}` }), { form: true });
    if (s.status !== 200 || !/sessions|no queued/.test(s.text)) throw new Error(`status ${i}: ${s.status} ${s.text}`);
    statusAcks.push(s.ms);
    await sleep(GAP / 2);
  }

  // Every turn ends, and its notice reaches Slack.
  const noticeAt = new Map<string, number>();
  await waitFor('every turn finished and noticed', async () => {
    for (const c of standin.calls) {
      if (c.method !== 'chat.postMessage' || !c.ok) continue;
      const body = JSON.stringify(c.params);
      const id = /Turn 1 done[^"]*?sessions\/([0-9a-f-]{36})/.exec(body)?.[1];
      if (id && !noticeAt.has(id)) noticeAt.set(id, c.at);
    }
    return noticeAt.size >= N + 1;
  }, 30 * 60_000);
  const noticeLags: number[] = [];
  for (const [id, at] of noticeAt) {
    const turn = ((await get(`/api/sessions/${id}/turns`)).data as Json[])[0];
    if (turn?.ended_at) noticeLags.push(at - Date.parse(turn.ended_at));
  }
  const doubled = standin.calls.filter((c) => c.method === 'chat.postMessage' && c.ok).map((c) => JSON.stringify(c.params.metadata ?? '')).filter((m, i, all) => m !== '""' && all.indexOf(m) !== i).length;
  const result = {
    machine: `${os.cpus().length} × ${os.cpus()[0]?.model ?? '?'}`,
    load_before: LOAD_BEFORE,
    load_after: os.loadavg()[0],
    commands: N,
    gap_ms: GAP,
    ack_start_ms: stats(startAcks),
    ack_status_ms: stats(statusAcks),
    turn_end_to_notice_ms: stats(noticeLags),
    posts_doubled: doubled,
  };
  if (args.json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  else {
    process.stdout.write(`slash command → ack, start (n=${N}): p50 ${result.ack_start_ms.p50} ms, p95 ${result.ack_start_ms.p95} ms, max ${result.ack_start_ms.max} ms (goal p95 < 50 ms)\n`);
    process.stdout.write(`slash command → ack, status (n=${N}): p50 ${result.ack_status_ms.p50} ms, p95 ${result.ack_status_ms.p95} ms, max ${result.ack_status_ms.max} ms\n`);
    process.stdout.write(`turn end → notice at Slack (n=${noticeLags.length}): p50 ${result.turn_end_to_notice_ms.p50} ms, p95 ${result.turn_end_to_notice_ms.p95} ms, max ${result.turn_end_to_notice_ms.max} ms (goal p95 < 500 ms)\n`);
    process.stdout.write(`posts made twice: ${doubled}\n`);
  }
} finally {
  server.child.kill('SIGTERM');
  await new Promise((r) => server.child.once('exit', r));
  await standin.stop();
  await model.close();
  fs.rmSync(dir, { recursive: true, force: true });
}
