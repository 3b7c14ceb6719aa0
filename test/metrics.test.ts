/**
 * Issue 16, point 3: Prometheus metrics through real HTTP on a real server (startServer with keys,
 * Slack on against the stand-in, a webhook receiver, the scripted model behind the real Claude
 * Code binary): a real turn's tools, outcome, duration, spend and tokens; hook events ingested,
 * duplicate and refused; webhook and Slack deliveries; request durations by route pattern (never
 * ids); process metrics; who may read /metrics (keys, METRICS_TOKEN, METRICS_PORT); a runner
 * process's own /metrics; and the Grafana dashboard, whose every queried metric must exist.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import { after, before, test } from 'node:test';
import type { Server } from '../src/main.ts';
import { run } from './helpers/hook-payloads.ts';
import { has, metricNames, parseExposition, total, type Sample } from './helpers/prometheus.ts';
import { waitFor } from './helpers/runner.ts';
import { commandBody, sendToSlackEndpoint, slackFixture, type SlackFixture } from './helpers/slack.ts';
import { WebhookReceiver } from './helpers/webhook-receiver.ts';
import { ALL_EVENTS, client, webhookFixture } from './helpers/webhooks.ts';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const METRICS_TOKEN = 'metrics-token-0123456789abcdef';
let f: SlackFixture;
let server: Server;
let receiver: WebhookReceiver;
const keys: Record<'admin' | 'viewer' | 'user' | 'hook', string> = { admin: '', viewer: '', user: '', hook: '' };
let admin: ReturnType<typeof client>;

before(async () => {
  f = await slackFixture({ METRICS_TOKEN, METRICS_PORT: '0', METRICS_HOST: '127.0.0.1', WEBHOOK_ALLOW_PRIVATE_HOSTS: '127.0.0.1', WEBHOOK_TIMEOUT_MS: '2000' });
  server = await f.start();
  for (const role of ['admin', 'viewer', 'user', 'hook'] as const) keys[role] = (await server.auth.createKey({ name: `metrics-${role}`, role })).key;
  admin = client(server.url, keys.admin);
  receiver = await WebhookReceiver.start();
});

after(async () => {
  await f.cleanup();
  await receiver.stop();
});

async function scrape(url = `${server.url}/metrics`, headers: Record<string, string> = { authorization: `Bearer ${METRICS_TOKEN}` }): Promise<{ status: number; type: string; text: string }> {
  const r = await fetch(url, { headers });
  return { status: r.status, type: r.headers.get('content-type') ?? '', text: await r.text() };
}

async function samples(): Promise<Sample[]> {
  const r = await scrape();
  assert.equal(r.status, 200, r.text);
  return parseExposition(r.text);
}

let turnSessionId = '';

test('a real turn started from Slack: tool executions, turn outcome and duration, spend and tokens by model, Slack and webhook deliveries, sessions', async () => {
  const sub = await admin('POST', '/api/webhooks', { url: `${receiver.url}/hook`, events: ALL_EVENTS });
  assert.equal(sub.status, 201, JSON.stringify(sub.body));
  receiver.secrets.set('/hook', sub.body.secret);
  // The receiver refuses its first delivery: one attempt is retried, then delivered.
  let refusedOnce = false;
  receiver.respond = () => (refusedOnce ? 200 : ((refusedOnce = true), 503));

  const before = await samples();
  const slack = await sendToSlackEndpoint(server.url, commandBody(f.standin, { text: 'SCRIPT:bash' }), { form: true });
  assert.equal(slack.status, 200, slack.text);
  turnSessionId = await waitFor('the Slack session', async () => ((await admin('GET', '/api/sessions?limit=50')).body.data as Json[]).find((x) => x.source === 'slack')?.id as string | undefined);
  const session = await waitFor('the turn ended', async () => {
    const s = await admin('GET', `/api/sessions/${turnSessionId}`);
    return s.body.turn_state === 'idle' && s.body.totals.turns >= 1 ? s.body : undefined;
  }, 90_000);
  await waitFor('turn.completed delivered', async () => receiver.accepted().some((r) => r.json.type === 'turn.completed'), 30_000);
  let seen = '';
  const after = await waitFor('Slack posts and webhook deliveries counted', async () => {
    const s = await samples();
    seen = ['cco_slack_deliveries_total', 'cco_webhook_deliveries_total'].flatMap((n) => s.filter((x) => x.name === n).map((x) => `${n}${JSON.stringify(x.labels)} ${x.value}`)).join('; ');
    return total(s, 'cco_slack_deliveries_total', { outcome: 'delivered' }) >= 2 && total(s, 'cco_webhook_deliveries_total', { outcome: 'delivered' }) >= 3 ? s : undefined;
  }, 30_000).catch((e: unknown) => {
    throw new Error(`${(e as Error).message}; last seen: ${seen}`);
  });
  const delta = (name: string, match: Record<string, string> = {}) => total(after, name, match) - total(before, name, match);

  assert.equal(delta('cco_tool_executions_total', { tool: 'Bash', status: 'completed' }), 1, 'the Bash call of SCRIPT:bash');
  assert.equal(delta('cco_tool_duration_seconds_count', { tool: 'Bash' }), 1);
  assert.equal(delta('cco_turns_total', { outcome: 'completed' }), 1);
  assert.equal(delta('cco_turn_duration_seconds_count', { outcome: 'completed' }), 1);
  assert.ok(delta('cco_turn_duration_seconds_sum', { outcome: 'completed' }) > 0);
  // The spend by model adds up to the turn's cost as the API reports it.
  const cost = delta('cco_cost_usd_total');
  assert.ok(session.totals.cost_usd > 0, JSON.stringify(session.totals));
  assert.ok(Math.abs(cost - session.totals.cost_usd) < 1e-9, `metrics ${cost} vs API ${session.totals.cost_usd}`);
  const models = new Set(after.filter((s) => s.name === 'cco_cost_usd_total').map((s) => s.labels.model));
  assert.ok(models.size >= 1 && !models.has('unknown'), [...models].join());
  assert.ok(delta('cco_tokens_total', { type: 'input' }) > 0);
  assert.ok(delta('cco_tokens_total', { type: 'output' }) > 0);
  assert.ok(delta('cco_slack_deliveries_total', { outcome: 'delivered' }) >= 2, 'the head post and the answer');
  assert.ok(delta('cco_webhook_deliveries_total', { outcome: 'retried' }) >= 1, 'the refused attempt');
  assert.ok(delta('cco_webhook_deliveries_total', { outcome: 'delivered' }) >= 3, 'session.created, turn.started, turn.completed');
  assert.equal(total(after, 'cco_webhook_deliveries_total', { outcome: 'failed' }), 0);
  // Database gauges are read at most every 5 s (cached between scrapes): the first scrape above may predate the session.
  await waitFor('the sessions gauge', async () => total(await samples(), 'cco_sessions', { status: 'active' }) >= 1, 15_000);
  for (const status of ['active', 'paused', 'completed', 'error']) assert.ok(has(after, 'cco_sessions', { status }), `cco_sessions{status="${status}"}`);
  assert.equal(total(after, 'cco_turns_running'), 0);
  assert.equal(total(after, 'cco_turns_queued'), 0);
  assert.equal(total(after, 'cco_runner_turns_running'), 0);
});

test('a second turn in the same Claude session adds only its own spend (Claude Code reports running totals)', async () => {
  const before = await samples();
  const first = (await admin('GET', `/api/sessions/${turnSessionId}`)).body;
  const sent = await admin('POST', `/api/sessions/${turnSessionId}/messages`, { direction: 'user', content: 'SCRIPT:bash' });
  assert.equal(sent.status, 201, JSON.stringify(sent.body));
  const second = await waitFor('the second turn ended', async () => {
    const s = await admin('GET', `/api/sessions/${turnSessionId}`);
    return s.body.turn_state === 'idle' && s.body.totals.turns >= 2 ? s.body : undefined;
  }, 90_000);
  const after = await samples();
  const turnCost = second.totals.cost_usd - first.totals.cost_usd;
  assert.ok(turnCost > 0);
  const cost = total(after, 'cco_cost_usd_total') - total(before, 'cco_cost_usd_total');
  assert.ok(Math.abs(cost - turnCost) < 1e-9, `metrics ${cost} vs API ${turnCost}`);
  assert.equal(total(after, 'cco_tool_executions_total', { tool: 'Bash' }) - total(before, 'cco_tool_executions_total', { tool: 'Bash' }), 1);
  assert.equal(total(after, 'cco_turns_total', { outcome: 'completed' }) - total(before, 'cco_turns_total', { outcome: 'completed' }), 1);
});

test('HTTP request durations are labelled by route pattern and status; ids and unknown URLs never become labels; process metrics are there', async () => {
  const stranger = `/api/no-such-${randomUUID()}`;
  assert.equal((await admin('GET', stranger)).status, 404);
  assert.equal((await admin('GET', `/api/sessions/${turnSessionId}`)).status, 200);
  const r = await scrape();
  assert.equal(r.status, 200);
  assert.match(r.type, /^text\/plain; version=0\.0\.4/);
  const s = parseExposition(r.text);
  assert.ok(total(s, 'cco_http_request_duration_seconds_count', { method: 'GET', route: '/api/sessions/:id', status_code: '200' }) >= 1);
  assert.ok(total(s, 'cco_http_request_duration_seconds_count', { method: 'POST', route: '/slack/events', status_code: '200' }) >= 1);
  assert.ok(total(s, 'cco_http_request_duration_seconds_count', { method: 'GET', route: 'unmatched', status_code: '404' }) >= 1);
  assert.ok(!r.text.includes(turnSessionId), 'no session id in any label');
  assert.ok(!r.text.includes('no-such-'), 'no URL of an unknown route');
  for (const name of ['process_cpu_seconds_total', 'process_resident_memory_bytes', 'nodejs_eventloop_lag_p99_seconds', 'nodejs_heap_size_used_bytes']) assert.ok(has(s, name), name);
});

test('hook events: ingested, duplicate, ignored and refused, single and batched; hook tool names are bounded (mcp, other)', async () => {
  const hook = client(server.url, keys.hook);
  const before = await samples();
  const p = run();
  const mcp = { ...p.PostToolUse, tool_name: 'mcp__github__create_issue', tool_use_id: `toolu_${randomUUID()}` };
  assert.equal((await hook('POST', '/api/hooks/tool-complete', mcp)).status, 200);
  const again = await hook('POST', '/api/hooks/tool-complete', mcp);
  assert.equal(again.status, 200);
  assert.equal(again.body.duplicate, true);
  assert.equal((await hook('POST', '/api/hooks/session-start', p.SessionStart)).status, 200);
  const bad = await hook('POST', '/api/hooks/tool-complete', { session_id: p.sessionId });
  assert.equal(bad.status, 400);
  const odd = { ...p.PostToolUse, tool_name: `Custom${randomUUID().slice(0, 8)}`, tool_use_id: `toolu_${randomUUID()}` };
  const batch = await hook('POST', '/api/hooks/batch', { events: [
    { event: 'PostToolUse', id: `e-${randomUUID()}`, payload: odd },
    { event: 'NoSuchEvent', id: `e-${randomUUID()}`, payload: p.Notification },
    { event: 'Notification', id: `e-${randomUUID()}`, payload: p.Notification },
  ] });
  assert.equal(batch.status, 200, JSON.stringify(batch.body));
  assert.deepEqual(batch.body.results.map((x: Json) => x.status), ['stored', 'refused', 'stored']);
  // The runner records its own sessions' prompts: the hook's copy is ignored.
  const managed = (await admin('GET', `/api/sessions/${turnSessionId}`)).body;
  const ignored = await admin('POST', '/api/hooks/user-prompt-submit', { ...p.UserPromptSubmit, session_id: managed.claude_session_id });
  assert.equal(ignored.body.ignored, 'managed_by_runner', JSON.stringify(ignored.body));
  // No key at all: refused too.
  assert.equal((await client(server.url)('POST', '/api/hooks/tool-complete', mcp)).status, 401);

  const after = await samples();
  const delta = (name: string, match: Record<string, string>) => total(after, name, match) - total(before, name, match);
  assert.equal(delta('cco_hook_events_total', { outcome: 'ingested' }), 4, 'tool-complete, session-start, two in the batch');
  assert.equal(delta('cco_hook_events_total', { outcome: 'duplicate' }), 1);
  assert.equal(delta('cco_hook_events_total', { outcome: 'ignored' }), 1);
  assert.equal(delta('cco_hook_events_total', { outcome: 'refused' }), 3, 'the invalid event, the unknown batch event, the one without a key');
  assert.equal(delta('cco_tool_executions_total', { tool: 'mcp', status: 'completed' }), 1);
  assert.equal(delta('cco_tool_executions_total', { tool: 'other', status: 'completed' }), 1);
  assert.ok(!after.some((s) => s.labels.tool?.startsWith('mcp__') || s.labels.tool === odd.tool_name), 'raw tool names are not labels');
});

test('who may read /metrics: METRICS_TOKEN, admin and viewer keys; not user or hook keys, nor anyone without a key; METRICS_PORT needs none', async () => {
  const url = `${server.url}/metrics`;
  const none = await scrape(url, {});
  assert.equal(none.status, 401);
  assert.equal(JSON.parse(none.text).error.code, 'unauthorized');
  assert.equal((await scrape(url, { authorization: 'Bearer wrong-token-0123456789abcdef' })).status, 401);
  for (const role of ['user', 'hook'] as const) {
    const r = await scrape(url, { authorization: `Bearer ${keys[role]}` });
    assert.equal(r.status, 403, role);
    assert.equal(JSON.parse(r.text).error.code, 'forbidden');
  }
  for (const role of ['admin', 'viewer'] as const) assert.equal((await scrape(url, { 'x-api-key': keys[role] })).status, 200, role);
  assert.equal((await scrape(url)).status, 200, 'METRICS_TOKEN');

  assert.ok(server.metricsUrl, 'METRICS_PORT listens');
  const open = await scrape(`${server.metricsUrl}/metrics`, {});
  assert.equal(open.status, 200);
  assert.ok(has(parseExposition(open.text), 'cco_turns_total', { outcome: 'completed' }));
  const other = await fetch(`${server.metricsUrl}/api/sessions`);
  assert.equal(other.status, 404, 'the metrics port serves nothing else');
  await other.body?.cancel();
});

test('the Grafana dashboard queries only metrics that exist on /metrics, and shows every cco_ metric', async () => {
  const dashboard = JSON.parse(fs.readFileSync('grafana/cco-dashboard.json', 'utf8')) as Json;
  const exprs: string[] = [];
  const walk = (panels: Json[]) => {
    for (const p of panels) {
      for (const t of (p.targets ?? []) as Json[]) exprs.push(t.expr as string);
      walk((p.panels ?? []) as Json[]);
    }
  };
  walk(dashboard.panels as Json[]);
  for (const v of (dashboard.templating?.list ?? []) as Json[]) if (v.type === 'query') exprs.push(typeof v.query === 'string' ? v.query : v.query.query);
  assert.ok(exprs.length >= 20, `${exprs.length} queries`);
  const s = await samples();
  const exposed = new Set(s.map((x) => x.name));
  const queried = new Set(exprs.flatMap(metricNames));
  const missing = [...queried].filter((n) => !exposed.has(n));
  assert.deepEqual(missing, [], `queried but not on /metrics: ${missing.join(', ')}`);
  // Every family of ours has a panel (a histogram through its _bucket or _count series).
  const families = new Set([...exposed].filter((n) => n.startsWith('cco_')).map((n) => n.replace(/_(bucket|count|sum)$/, '')));
  const shown = new Set([...queried].map((n) => n.replace(/_(bucket|count|sum)$/, '')));
  const unshown = [...families].filter((n) => !shown.has(n));
  assert.deepEqual(unshown, [], `on /metrics but on no panel: ${unshown.join(', ')}`);
});

test('scale-out: an API and a runner process each serve their own /metrics (the runner on its health port); the turn counts where it ran', async () => {
  const w = await webhookFixture({ METRICS_TOKEN });
  try {
    const api = await w.start({ ROLE: 'api' });
    const runner = await w.start({ ROLE: 'runner' });
    const call = client(api.url, api.firstKey!.key);
    const created = await call('POST', '/api/sessions', { prompt: 'SCRIPT:bash' });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const session = await waitFor('the turn ended', async () => {
      const s = await call('GET', `/api/sessions/${created.body.id}`);
      return s.body.turn_state === 'idle' && s.body.totals.turns >= 1 ? s.body : undefined;
    }, 90_000);

    const url = `${runner.url}/metrics`;
    const none = await scrape(url, {});
    assert.equal(none.status, 401);
    assert.equal(JSON.parse(none.text).error.code, 'unauthorized');
    const user = (await api.auth.createKey({ name: 'scale-user', role: 'user' })).key;
    assert.equal((await scrape(url, { authorization: `Bearer ${user}` })).status, 403);
    const ran = await scrape(url);
    assert.equal(ran.status, 200);
    const r = parseExposition(ran.text);
    const a = parseExposition((await scrape(`${api.url}/metrics`)).text);
    assert.equal(total(r, 'cco_turns_total', { outcome: 'completed' }), 1, 'the runner ran it');
    assert.equal(total(a, 'cco_turns_total'), 0, 'the API ran nothing');
    assert.equal(total(r, 'cco_tool_executions_total', { tool: 'Bash' }), 1);
    assert.equal(total(a, 'cco_tool_executions_total'), 0);
    assert.ok(Math.abs(total(r, 'cco_cost_usd_total') - session.totals.cost_usd) < 1e-9);
    assert.ok(total(a, 'cco_http_request_duration_seconds_count', { method: 'POST', route: '/api/sessions', status_code: '201' }) >= 1, 'the API answered the request');
    assert.ok(!has(r, 'cco_http_request_duration_seconds_count'), 'the runner answers no API requests');
    for (const s of [r, a]) {
      assert.ok(has(s, 'process_cpu_seconds_total'));
      assert.ok(has(s, 'cco_sessions', { status: 'active' }), 'the database gauges, on every process');
    }
    assert.equal(runner.metricsUrl, undefined);
    assert.equal((await fetch(`${runner.url}/health`)).status, 200);
  } finally {
    await w.cleanup();
  }
});
