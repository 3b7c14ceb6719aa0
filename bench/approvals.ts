/**
 * npm run bench:approvals — issue 15's figure: the time from a person's decision (the answer to
 * POST /api/approvals/:id/decision) to the approved tool running (its marker file appearing in the
 * workspace), against a real `cco serve` (its own process, the embedded default database, the
 * scripted model, real Claude Code). Two paths, --runs each, one at a time:
 *   late:    the turn already stopped waiting (APPROVAL_WAIT_S passed), so the decision continues
 *            the session: a new turn is queued, Claude Code resumes the session and the model
 *            calls the tool again (goal: p95 under 2 s, resuming included);
 *   waiting: the decision comes while the turn still holds the call open.
 * --runs 3 is a smoke run.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { startModelServer } from '../src/model-server/server.ts';
import { claudeTestEnv } from '../test/helpers/claude.ts';
import { waitFor } from '../test/helpers/runner.ts';
import { startServeProcess } from '../test/helpers/serve.ts';
import { client } from '../test/helpers/webhooks.ts';
import { percentile, round } from './lib/proc.ts';

const { values: args } = parseArgs({ options: { runs: { type: 'string', default: '30' }, json: { type: 'boolean', default: false } } });
const RUNS = Number(args.runs);
const WAIT_S = 2;

const stats = (xs: number[]) => ({ n: xs.length, p50: round(percentile(xs, 50)), p95: round(percentile(xs, 95)), max: round(Math.max(...xs)) });
const say = (line: string) => {
  if (!args.json) process.stdout.write(`${line}\n`);
};

const model = await startModelServer({ port: 0 });
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cco-bench-approvals-'));
const server = await startServeProcess({
  ...(claudeTestEnv({ baseUrl: model.url, configDir: path.join(dir, 'claude') }) as Record<string, string>),
  DATA_DIR: path.join(dir, 'data'),
  WORKSPACES_DIR: path.join(dir, 'ws'),
  DATABASE_URL: '',
  LOG_LEVEL: 'info',
  APPROVAL_POLICY: JSON.stringify({ default: 'allow', rules: [{ tool: 'Bash', command: 'touch *', action: 'ask' }] }),
  APPROVAL_WAIT_S: String(WAIT_S),
}, 120_000);
const api = client(server.url);

/** Polls for the marker every 2 ms: the resolution is small against the figures measured. */
async function appears(file: string, timeoutMs = 60_000): Promise<number> {
  const start = Date.now();
  while (!fs.existsSync(file)) {
    if (Date.now() - start > timeoutMs) throw new Error(`${file} never appeared`);
    await new Promise((r) => setTimeout(r, 2));
  }
  return performance.now();
}

async function one(late: boolean, i: number): Promise<number> {
  const name = `bench-${late ? 'late' : 'wait'}-${i}.txt`;
  const script = JSON.stringify([{ tool: 'Bash', input: { command: `touch ${name}`, description: 'bench' } }, { text: 'done' }]);
  const s = await api('POST', '/api/sessions', { prompt: `SCRIPT_JSON:${script}` });
  if (s.status !== 201) throw new Error(`create: ${s.status} ${JSON.stringify(s.body)}`);
  const id = s.body.id as string;
  const req = await waitFor('request', async () => ((await api('GET', `/api/approvals?session_id=${id}&status=pending`)).body.data as { id: string }[])[0], 60_000);
  // late: wait for the turn to stop waiting and settle; waiting: decide at once.
  if (late) await waitFor('turn stopped', async () => (await api('GET', `/api/sessions/${id}`)).body.turn_state === 'idle', 60_000);
  const ws = (await api('GET', `/api/sessions/${id}`)).body.project_path as string;
  const d = await api('POST', `/api/approvals/${req.id}/decision`, { decision: 'allow' });
  const decided = performance.now();
  if (d.status !== 200) throw new Error(`decide: ${d.status} ${JSON.stringify(d.body)}`);
  const ran = await appears(path.join(ws, name));
  await waitFor('idle', async () => (await api('GET', `/api/sessions/${id}`)).body.turn_state === 'idle', 60_000);
  return ran - decided;
}

try {
  const late: number[] = [];
  const waiting: number[] = [];
  await one(true, -1); // warm-up: the first turn loads the Agent SDK
  for (let i = 0; i < RUNS; i++) {
    late.push(await one(true, i));
    waiting.push(await one(false, i));
  }
  const result = { machine: `${os.cpus().length} × ${os.cpus()[0]?.model ?? '?'}`, load_at_end: os.loadavg().map((x) => round(x)), decision_to_tool_ms: { late: stats(late), waiting: stats(waiting) } };
  if (args.json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  say(`decision → tool running, after the turn stopped waiting (resume): p50 ${result.decision_to_tool_ms.late.p50} ms, p95 ${result.decision_to_tool_ms.late.p95} ms (n ${RUNS}; goal p95 < 2000 ms)`);
  say(`decision → tool running, while the turn waits: p50 ${result.decision_to_tool_ms.waiting.p50} ms, p95 ${result.decision_to_tool_ms.waiting.p95} ms`);
} finally {
  server.child.kill('SIGTERM');
  await new Promise((r) => server.child.once('exit', r));
  await model.close();
  fs.rmSync(dir, { recursive: true, force: true });
}
