/**
 * What `npm run test:n8n` proves on a running n8n with the shipped workflows published, checked
 * from the orchestrator's side (its API) and n8n's (HTTP answers, stored executions).
 */
import { randomUUID } from 'node:crypto';
import { assert, ccoSignature, check, http, slackHeaders, until, type HttpAnswer } from './harness.ts';
import type { N8n } from './n8n.ts';

export interface World {
  n8n: N8n;
  ccoUrl: string;
  key: string;
  slackSecret: string;
  slackWebhookId: string;
  triggerWebhookId: string;
  repoUrl: string;
}

export const WORKFLOWS = {
  initializer: 'ccoSessionInit01',
  initializerBadKey: 'ccoSessionBad001',
  runAndWait: 'ccoRunAndWait001',
  slack: 'ccoSlackHandle01',
  onCompletion: 'ccoOnComplete001',
};

type Json = Record<string, unknown>;

function api(w: World, method: string, path: string, body?: object): Promise<HttpAnswer> {
  return http(method, `${w.ccoUrl}${path}`, { body, headers: { 'x-api-key': w.key } });
}

async function turns(w: World, sessionId: string): Promise<Json[]> {
  const r = await api(w, 'GET', `/api/sessions/${sessionId}/turns`);
  assert(r.status === 200, `GET turns: ${r.status} ${r.text}`);
  return r.body.data as Json[];
}

/** Waits for the session's turns to be `count` and all ended; returns them. */
async function endedTurns(w: World, sessionId: string, count: number): Promise<Json[]> {
  return until(`${count} ended turn(s) in ${sessionId}`, async () => {
    const t = await turns(w, sessionId);
    return t.length === count && t.every((x) => !['queued', 'running'].includes(String(x.status))) ? t : undefined;
  }, 60_000);
}

async function assistantTexts(w: World, sessionId: string): Promise<string[]> {
  const r = await api(w, 'GET', `/api/sessions/${sessionId}/messages?limit=100`);
  return (r.body.data as Json[]).filter((m) => m.direction === 'assistant').map((m) => String(m.content));
}

async function sessionCount(w: World): Promise<number> {
  let n = 0;
  let cursor = '';
  for (;;) {
    const r = await api(w, 'GET', `/api/sessions?limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
    n += (r.body.data as Json[]).length;
    if (typeof r.body.next_cursor !== 'string') return n;
    cursor = r.body.next_cursor;
  }
}

export async function runScenarios(w: World): Promise<{ sessions: string[] }> {
  const sessions: string[] = [];
  const hook = (path: string, body: object) => http('POST', `${w.n8n.url}/webhook/${path}`, { body });

  await check('Session Initializer: no prompt answers 400 from its validation branch', async () => {
    const r = await hook('cco/session', { repo: w.repoUrl });
    assert(r.status === 400 && String(r.body.error).includes('prompt'), `${r.status} ${r.text}`);
  });

  await check('Session Initializer: webhook → session with a prompt and repo → 201 with id and link', async () => {
    const r = await hook('cco/session', { prompt: 'initialize from n8n', repo: w.repoUrl });
    assert(r.status === 201, `${r.status} ${r.text}`);
    const id = String(r.body.session_id);
    assert(r.body.link === `${w.ccoUrl}/sessions/${id}`, `link: ${String(r.body.link)}`);
    sessions.push(id);
    const s = await api(w, 'GET', `/api/sessions/${id}`);
    assert(s.status === 200 && s.body.source === 'n8n' && s.body.project_type === 'github', `session: ${s.text.slice(0, 300)}`);
    const [turn] = await endedTurns(w, id, 1);
    assert(turn!.status === 'completed', `turn ${String(turn!.status)}`);
    assert((await assistantTexts(w, id)).includes('Done: initialize from n8n'), 'the scripted answer is stored');
    return `session ${id.slice(0, 8)}, turn completed`;
  });

  await check('Run and Wait: webhook → create and wait → answer and cost in the HTTP response → closed', async () => {
    const started = Date.now();
    const r = await hook('cco/run', { prompt: 'run and wait from n8n', wait_s: 120 });
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    assert(r.status === 200, `${r.status} ${r.text}`);
    assert(r.body.answer === 'Done: run and wait from n8n', `answer: ${String(r.body.answer)}`);
    assert(typeof r.body.cost_usd === 'number', `cost_usd: ${String(r.body.cost_usd)}`);
    const id = String(r.body.session_id);
    sessions.push(id);
    await until('the session closed by the workflow', async () => {
      const s = await api(w, 'GET', `/api/sessions/${id}`);
      return s.body.status === 'completed' ? true : undefined;
    }, 20_000);
    return `answer in ${seconds} s, cost_usd ${String(r.body.cost_usd)}, session closed`;
  });

  await check('bad API key: the workflow takes its error branch (502 with the 401 reason), no session made', async () => {
    const before = await sessionCount(w);
    const r = await hook('cco/session-bad-key', { prompt: 'must not start' });
    assert(r.status === 502, `${r.status} ${r.text}`);
    assert(/401|authori[sz]|credential/i.test(`${String(r.body.error)} ${String(r.body.description)} ${String(r.body.http_code)}`), `error: ${r.text}`);
    assert((await sessionCount(w)) === before, 'no session was created');
    return `502: ${String(r.body.error).slice(0, 80)}`;
  });

  await check('Slack Message Handler: a signed app_mention starts a session; a mention in its thread continues it', async () => {
    const thread = `${Math.floor(Date.now() / 1000)}.000100`;
    const event = (ts: string, text: string, threadTs?: string) => JSON.stringify({
      token: 'x', team_id: 'T1', api_app_id: 'A1', type: 'event_callback', event_id: `Ev${randomUUID().slice(0, 8)}`, event_time: Math.floor(Date.now() / 1000),
      event: { type: 'app_mention', user: 'U1', text, channel: 'C1', ts, event_ts: ts, ...(threadTs ? { thread_ts: threadTs } : {}) },
    });
    const post = (body: string) => http('POST', `${w.n8n.url}/webhook/${w.slackWebhookId}/webhook`, { body, headers: slackHeaders(w.slackSecret, body) });
    const unsigned = await http('POST', `${w.n8n.url}/webhook/${w.slackWebhookId}/webhook`, { body: event(thread, '<@UBOT> nope') });
    assert(unsigned.status === 401, `unsigned Slack request: ${unsigned.status}`);
    const first = await post(event(thread, '<@UBOT> slack says hi'));
    assert(first.status === 200, `first mention: ${first.status} ${first.text}`);
    const key = `n8n-slack:C1:${thread}`;
    const found = await until('the session for the thread', async () => {
      const r = await api(w, 'GET', `/api/sessions?contains=${encodeURIComponent(key)}`);
      return (r.body.data as Json[]).length === 1 ? (r.body.data as Json[])[0] : undefined;
    }, 30_000);
    const id = String(found.id);
    sessions.push(id);
    await endedTurns(w, id, 1);
    const second = await post(event(`${Math.floor(Date.now() / 1000)}.000200`, '<@UBOT> and again', thread));
    assert(second.status === 200, `reply in thread: ${second.status}`);
    const t = await endedTurns(w, id, 2);
    assert(t.every((x) => x.status === 'completed'), `turns: ${t.map((x) => x.status).join(',')}`);
    const texts = await assistantTexts(w, id);
    assert(texts.includes('Done: slack says hi') && texts.includes('Done: and again'), `answers: ${texts.join(' | ')}`);
    const r = await api(w, 'GET', `/api/sessions?contains=${encodeURIComponent(key)}`);
    assert((r.body.data as Json[]).length === 1, 'one session per thread');
    return `session ${id.slice(0, 8)}: 2 turns; the replies to Slack itself go to the error branch (no Slack here)`;
  });

  await check('On Completion: the trigger subscribed through the webhooks API with this node\'s URL', async () => {
    const r = await api(w, 'GET', '/api/webhooks');
    assert(r.status === 200, `GET /api/webhooks: ${r.status} ${r.text.slice(0, 200)}`);
    const url = `${w.n8n.url}/webhook/${w.triggerWebhookId}/webhook`;
    const mine = (r.body.data as Json[]).filter((h) => h.url === url);
    assert(mine.length === 1, `subscriptions for ${url}: ${JSON.stringify(r.body.data)}`);
    assert(JSON.stringify(mine[0]!.events) === '["turn.completed"]', `events: ${JSON.stringify(mine[0]!.events)}`);
    assert(!('secret' in mine[0]!), 'the secret is not listed again');
  });

  await check('On Completion: fired on turn.completed with a valid signature, once per finished turn', async () => {
    const expected = sessions.slice(0, 3);
    let finished = 0;
    for (const id of expected) finished += (await turns(w, id)).filter((t) => t.status === 'completed').length;
    const runs = await until(`${finished} executions, one per completed turn`, async () => {
      const ex = w.n8n.executions(WORKFLOWS.onCompletion);
      return ex.length >= finished && expected.every((id) => ex.some((e) => e.data.includes(`in session ${id}`))) ? ex : undefined;
    }, 30_000);
    // At least once is the orchestrator's promise; here nothing restarts, so a second run would be a duplicate.
    await new Promise((r) => setTimeout(r, 1000));
    const settled = w.n8n.executions(WORKFLOWS.onCompletion);
    assert(settled.length === finished, `${settled.length} executions for ${finished} completed turns`);
    assert(runs.some((e) => e.data.includes('Done: run and wait from n8n')), 'the answer reaches the Summary node');
    return `${settled.length} executions for ${finished} completed turns`;
  });

  await check('On Completion: unsigned, forged, stale and tampered deliveries get 401 and start nothing', async () => {
    const url = `${w.n8n.url}/webhook/${w.triggerWebhookId}/webhook`;
    const secret = String(Object.values(w.n8n.staticData(WORKFLOWS.onCompletion)).find((d) => typeof d.webhookSecret === 'string')?.webhookSecret ?? '');
    assert(secret, 'the trigger keeps the secret in the workflow static data');
    const body = JSON.stringify({ id: randomUUID(), type: 'turn.completed', created_at: new Date().toISOString(), data: { session_id: 'forged-session', status: 'completed', answer: 'forged', link: 'x' } });
    const send = (b: string, sig?: string) => http('POST', url, { body: b, headers: { 'x-cco-event': 'turn.completed', ...(sig ? { 'x-cco-signature': sig } : {}) } });
    for (const [what, r] of [
      ['unsigned', await send(body)],
      ['wrong secret', await send(body, ccoSignature('not-the-secret', body))],
      ['stale', await send(body, ccoSignature(secret, body, Math.floor(Date.now() / 1000) - 600))],
      ['tampered', await send(body.replace('forged-session', 'other-session'), ccoSignature(secret, body))],
    ] as const) assert(r.status === 401, `${what}: ${r.status} ${r.text}`);
    const good = await send(body, ccoSignature(secret, body));
    assert(good.status === 200, `correctly signed: ${good.status} ${good.text}`);
    const ran = (marker: string) => w.n8n.executions(WORKFLOWS.onCompletion).filter((e) => e.data.includes(marker)).length;
    await until('the one genuine delivery to run', async () => (ran('forged-session') > 0 ? true : undefined), 15_000);
    await new Promise((r) => setTimeout(r, 1000));
    assert(ran('forged-session') === 1 && ran('other-session') === 0, `runs: signed body ${ran('forged-session')}, tampered body ${ran('other-session')}`);
  });
  return { sessions };
}
