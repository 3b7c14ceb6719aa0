/** POST /api/hooks/batch: per-event results, dedup by id, order, side effects, limits, the text answer. */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { call, createTestApp, type TestApp } from './helpers/app.ts';
import { recordEvents, type EventRecorder } from './helpers/events.ts';
import { run } from './helpers/hook-payloads.ts';

let t: TestApp;
let live: EventRecorder;
before(async () => {
  t = await createTestApp({ bodyLimitBytes: 256 * 1024 });
  live = recordEvents(t.events);
});
after(async () => {
  await t.close();
});

// eslint-disable-next-line @typescript-eslint/no-explicit-any
async function batch(events: unknown[], headers: Record<string, string> = {}): Promise<{ status: number; body: any; text: string; type: string }> {
  const res = await t.app.inject({ method: 'POST', url: '/api/hooks/batch', headers, payload: { events } });
  const type = String(res.headers['content-type'] ?? '');
  return { status: res.statusCode, body: type.includes('json') ? res.json() : undefined, text: res.body, type };
}
const eid = (event: string) => `${process.hrtime.bigint()}-4242-${randomUUID().slice(-12)}-${event}`;
const ORDER = ['SessionStart', 'UserPromptSubmit', 'PostToolUse', 'PostToolUseFailure', 'SubagentStop', 'Notification', 'PreCompact', 'Stop', 'SessionEnd'] as const;

describe('POST /api/hooks/batch', () => {
  test('a whole run in one batch, with bad events among it: one result each in order, the bad ones refused, the rest stored with every side effect', async () => {
    const r = run();
    const events: { event: string; id: string; payload: unknown }[] = ORDER.map((e) => ({ event: e, id: eid(e), payload: r[e] }));
    events.splice(2, 0, { event: 'NoSuchEvent', id: eid('NoSuchEvent'), payload: r.Notification });
    events.splice(5, 0, { event: 'post-tool-use', id: eid('PostToolUse'), payload: { ...r.PostToolUse, tool_name: undefined, tool_use_id: 'toolu_bad' } });
    events.splice(7, 0, { event: 'Stop', id: eid('Stop'), payload: { cwd: '/no/session/id' } });
    events.splice(8, 0, { event: 'Notification', id: 'has spaces', payload: r.Notification });
    const res = await batch(events);
    assert.equal(res.status, 200);
    const results = res.body.results as Array<{ id: string; status: string; code?: string; http_status?: number; session_id?: string }>;
    assert.deepEqual(results.map((x) => x.id), events.map((e) => e.id), 'one result per event, in order');
    assert.deepEqual(results.map((x) => x.status), events.map((e, i) => ([2, 5, 7, 8].includes(i) ? 'refused' : 'stored')), JSON.stringify(results));
    assert.deepEqual([2, 5, 7, 8].map((i) => results[i]!.code), ['unknown_event', 'invalid_request', 'invalid_request', 'invalid_event_id']);
    assert.ok([2, 5, 7, 8].every((i) => results[i]!.http_status === 400));
    const sid = results[0]!.session_id!;
    assert.ok(results.every((x) => x.status === 'refused' || x.session_id === sid));

    const session = (await call(t.app, 'GET', `/api/sessions/${sid}`)).body;
    assert.equal(session.status, 'completed', 'SessionEnd completed it');
    assert.equal(session.source, 'cli');
    const msgs = (await call(t.app, 'GET', `/api/sessions/${sid}/messages`)).body.data;
    assert.deepEqual(msgs.map((m: { direction: string; content: string }) => [m.direction, m.content]), [['user', 'SCRIPT:bash'], ['assistant', 'Finished script bash.']]);
    const logs = (await call(t.app, 'GET', `/api/sessions/${sid}/logs`)).body.data;
    assert.deepEqual(logs.map((l: { status: string }) => l.status), ['completed', 'error']);
    const evs = (await call(t.app, 'GET', `/api/sessions/${sid}/events?limit=50`)).body.data;
    assert.deepEqual(evs.map((e: { event: string }) => e.event), ORDER.filter((e) => !e.startsWith('PostToolUse')));

    // After the commit, in batch order, the new session first.
    const mine = () => live.events.filter((e) => e.session_id === sid).map((e) => e.type);
    // The first prompt names the session (session.updated with its title); SessionEnd closes it (the second).
    await live.until(() => mine().filter((x) => x === 'session.updated').length === 2, 'the events of the batch');
    assert.deepEqual(mine(), [
      'session.created', 'session_event.created', 'session_event.created', 'message.created', 'session.updated', 'log.created', 'log.created',
      'session_event.created', 'session_event.created', 'session_event.created', 'session_event.created', 'message.created',
      'session_event.created', 'session.updated',
    ]);
  });

  test('a redelivered batch stores nothing twice; an id repeated inside one batch is stored once; the same payload under two ids is two events', async () => {
    const r = run();
    const events = ORDER.map((e) => ({ event: e, id: eid(e), payload: r[e] }));
    const note = { event: 'Notification', id: eid('Notification'), payload: r.Notification };
    const body = [...events, note, note, { ...note, id: eid('Notification') }];
    const first = await batch(body);
    assert.deepEqual(first.body.results.map((x: { status: string }) => x.status), [...ORDER.map(() => 'stored'), 'stored', 'duplicate', 'stored']);
    const again = await batch(body);
    assert.equal(again.status, 200);
    assert.ok(again.body.results.every((x: { status: string }) => x.status === 'duplicate'), JSON.stringify(again.body.results));
    const sid = first.body.results[0].session_id;
    assert.equal((await call(t.app, 'GET', `/api/sessions/${sid}/events?limit=50`)).body.data.length, 7 + 2);
    assert.equal((await call(t.app, 'GET', `/api/sessions/${sid}/messages`)).body.data.length, 2);
    assert.equal((await call(t.app, 'GET', `/api/sessions/${sid}/logs`)).body.data.length, 2);
    // The single-event route and the batch share the keys: a batch redelivering single sends stores nothing.
    const n = { event: 'Notification', id: eid('Notification'), payload: { ...r.Notification, message: 'single' } };
    const single = await t.app.inject({ method: 'POST', url: '/api/hooks/Notification', headers: { 'x-cco-event-id': n.id }, payload: n.payload });
    assert.equal(single.json().stored, true);
    assert.equal((await batch([n])).body.results[0].status, 'duplicate');
  });

  test('events of several sessions keep their order per session; tool events only take one statement and still announce new sessions', async () => {
    const a = run();
    const b = run();
    const tools = Array.from({ length: 30 }, (_, i) => {
      const r = i % 2 ? a : b;
      return { event: 'PostToolUse', id: eid('PostToolUse'), payload: { ...r.PostToolUse, tool_use_id: `toolu_${r.sessionId}_${i}` } };
    });
    const res = await batch(tools);
    assert.ok(res.body.results.every((x: { status: string }) => x.status === 'stored'));
    const sids = new Set(res.body.results.map((x: { session_id: string }) => x.session_id));
    const of = (type: string) => live.events.filter((e) => e.type === type && sids.has(e.session_id)).length;
    // Each new session is announced before its first log, so once all 30 logs are in, both announcements are.
    await live.until(() => of('log.created') === 30, 'the 30 log events');
    assert.equal(of('session.created'), 2);
    for (const [r, parity] of [[a, 1], [b, 0]] as const) {
      const sid = res.body.results[parity].session_id;
      const logs = (await call(t.app, 'GET', `/api/sessions/${sid}/logs?limit=100`)).body.data;
      assert.deepEqual(logs.map((l: { tool_use_id: string }) => l.tool_use_id), tools.map((_, i) => i).filter((i) => i % 2 === parity).map((i) => `toolu_${r.sessionId}_${i}`));
    }
  });

  test('a new session takes its project path from its first event in the batch, as when the events are sent alone', async () => {
    const r = run(randomUUID(), '/srv/work/first');
    const res = await batch([
      { event: 'SessionStart', id: eid('SessionStart'), payload: r.SessionStart },
      { event: 'PostToolUse', id: eid('PostToolUse'), payload: { ...r.PostToolUse, cwd: '/srv/work/later' } },
    ]);
    const sid = res.body.results[0].session_id;
    assert.equal((await call(t.app, 'GET', `/api/sessions/${sid}`)).body.project_path, '/srv/work/first');
  });

  test('turns of two sessions in one batch (no SessionEnd: one statement for the events): messages in order, first prompt titles, repeats stored once', async () => {
    const a = run();
    const b = run();
    const note = (r: typeof a, id = eid('Notification')) => ({ event: 'Notification', id, payload: r.Notification });
    const repeated = note(a);
    const body = [
      { event: 'UserPromptSubmit', id: eid('UserPromptSubmit'), payload: { ...a.UserPromptSubmit, prompt: 'Fix the login bug\nand more' } },
      { event: 'UserPromptSubmit', id: eid('UserPromptSubmit'), payload: { ...b.UserPromptSubmit, prompt: 'Second session' } },
      { event: 'PostToolUse', id: eid('PostToolUse'), payload: a.PostToolUse },
      repeated,
      repeated,
      // No id: never deduplicated, so the same event twice is two rows (as on the single-event route).
      { event: 'Notification', payload: a.Notification },
      { event: 'Notification', payload: a.Notification },
      { event: 'UserPromptSubmit', id: eid('UserPromptSubmit'), payload: { ...a.UserPromptSubmit, prompt: 'A later prompt' } },
      { event: 'Stop', id: eid('Stop'), payload: { ...a.Stop, last_assistant_message: 'Fixed.' } },
      { event: 'Stop', id: eid('Stop'), payload: { ...b.Stop, last_assistant_message: 'Done b.' } },
    ];
    const res = await batch(body);
    assert.deepEqual(res.body.results.map((x: { status: string }) => x.status), ['stored', 'stored', 'stored', 'stored', 'duplicate', 'stored', 'stored', 'stored', 'stored', 'stored']);
    const sa = res.body.results[0].session_id;
    const sb = res.body.results[1].session_id;
    assert.notEqual(sa, sb);
    const msgs = async (sid: string) => (await call(t.app, 'GET', `/api/sessions/${sid}/messages`)).body.data.map((m: { direction: string; content: string }) => `${m.direction}:${m.content}`);
    assert.deepEqual(await msgs(sa), ['user:Fix the login bug\nand more', 'user:A later prompt', 'assistant:Fixed.']);
    assert.deepEqual(await msgs(sb), ['user:Second session', 'assistant:Done b.']);
    const logs = (await call(t.app, 'GET', `/api/sessions/${sa}/logs`)).body.data;
    assert.deepEqual(logs.map((l: { tool_use_id: string; tool: string; status: string }) => [l.tool_use_id, l.tool, l.status]), [[a.PostToolUse.tool_use_id, 'Bash', 'completed']]);
    assert.equal((await call(t.app, 'GET', `/api/sessions/${sa}`)).body.title, 'Fix the login bug', 'the first prompt names the session');
    assert.equal((await call(t.app, 'GET', `/api/sessions/${sb}`)).body.title, 'Second session');
    const evs = (await call(t.app, 'GET', `/api/sessions/${sa}/events?limit=50`)).body.data.map((e: { event: string }) => e.event);
    assert.deepEqual(evs, ['UserPromptSubmit', 'Notification', 'Notification', 'Notification', 'UserPromptSubmit', 'Stop']);

    // Published after the commit in batch order; each session is announced as titled once, after the message that named it.
    const of = (sid: string) => live.events.filter((e) => e.session_id === sid).map((e) => e.type);
    await live.until(() => of(sa).filter((x) => x === 'message.created').length === 3 && of(sb).filter((x) => x === 'message.created').length === 2, 'the messages');
    assert.deepEqual(of(sa), [
      'session.created', 'session_event.created', 'message.created', 'session.updated', 'log.created', 'session_event.created', 'session_event.created', 'session_event.created',
      'session_event.created', 'message.created', 'session_event.created', 'message.created',
    ]);
    assert.deepEqual(of(sb), ['session.created', 'session_event.created', 'message.created', 'session.updated', 'session_event.created', 'message.created']);
    const titled = live.events.find((e) => e.session_id === sa && e.type === 'session.updated') as { session: { title: string } } | undefined;
    assert.equal(titled?.session.title, 'Fix the login bug');

    // Redelivered: every event with an id is a duplicate and nothing is written; the two without one are stored again.
    const again = await batch(body);
    assert.deepEqual(again.body.results.map((x: { status: string }) => x.status), ['duplicate', 'duplicate', 'duplicate', 'duplicate', 'duplicate', 'stored', 'stored', 'duplicate', 'duplicate', 'duplicate']);
    assert.equal((await msgs(sa)).length, 3);
    assert.equal((await call(t.app, 'GET', `/api/sessions/${sa}/logs`)).body.data.length, 1, 'the redelivered tool event is stored once');
    // A later first-line prompt does not rename a titled session.
    await batch([{ event: 'UserPromptSubmit', id: eid('UserPromptSubmit'), payload: { ...a.UserPromptSubmit, prompt: 'Another name' } }]);
    assert.equal((await call(t.app, 'GET', `/api/sessions/${sa}`)).body.title, 'Fix the login bug');
  });

  test("a runner session's prompt and Stop are ignored in a batch without SessionEnd too; its other events are stored", async () => {
    const r = run();
    const s = await t.sessions.create({ project_path: '/srv/work/proj', project_type: 'local', claude_session_id: r.sessionId, managed: true });
    const res = await batch(['UserPromptSubmit', 'Notification', 'Stop'].map((e) => ({ event: e, id: eid(e), payload: r[e as 'Stop'] })));
    assert.deepEqual(res.body.results.map((x: { status: string }) => x.status), ['ignored', 'stored', 'ignored']);
    assert.equal((await call(t.app, 'GET', `/api/sessions/${s.id}/messages`)).body.data.length, 0);
    assert.deepEqual((await call(t.app, 'GET', `/api/sessions/${s.id}/events`)).body.data.map((e: { event: string }) => e.event), ['Notification']);
  });

  test("a runner session's prompt and Stop are ignored, as on the single-event route", async () => {
    const r = run();
    const s = await t.sessions.create({ project_path: '/srv/work/proj', project_type: 'local', claude_session_id: r.sessionId, managed: true });
    const res = await batch(['UserPromptSubmit', 'Stop', 'SessionEnd'].map((e) => ({ event: e, id: eid(e), payload: r[e as 'Stop'] })));
    assert.deepEqual(res.body.results.map((x: { status: string }) => x.status), ['ignored', 'ignored', 'stored']);
    assert.equal((await call(t.app, 'GET', `/api/sessions/${s.id}`)).body.status, 'active');
  });

  test('accept: text/plain answers one line per event: "<id> <status>[ <code> <message>]"', async () => {
    const r = run();
    const ok = { event: 'SessionStart', id: eid('SessionStart'), payload: r.SessionStart };
    const bad = { event: 'Stop', id: eid('Stop'), payload: { ...r.Stop, last_assistant_message: 42 } };
    const res = await batch([ok, bad, ok], { accept: 'text/plain' });
    assert.equal(res.status, 200);
    assert.match(res.type, /^text\/plain/);
    const lines = res.text.split('\n');
    assert.equal(lines.pop(), '', 'ends with a newline');
    assert.equal(lines[0], `${ok.id} stored`);
    assert.match(lines[1]!, new RegExp(`^${bad.id} refused invalid_request \\S.*last_assistant_message`));
    assert.equal(lines[2], `${ok.id} duplicate`);
  });

  test('the same batch sent by several senders at once (a flush racing the worker): every event stored once, no error', async () => {
    const a = run();
    const b = run();
    const events = [a, b, a, b].flatMap((r, n) => [
      { event: 'UserPromptSubmit', id: eid('UserPromptSubmit'), payload: r.UserPromptSubmit },
      ...[0, 1, 2].map((i) => ({ event: 'PostToolUse', id: eid('PostToolUse'), payload: { ...r.PostToolUse, tool_use_id: `toolu_${r.sessionId}_${n}_${i}` } })),
      { event: 'Notification', id: eid('Notification'), payload: r.Notification },
    ]);
    // Reversed copies lock nothing in a different order: sessions are always taken in claude_session_id order.
    const answers = await Promise.all([events, [...events].reverse(), events, [...events].reverse()].map((e) => batch(e)));
    assert.deepEqual(answers.map((x) => x.status), [200, 200, 200, 200]);
    const stored = new Map<string, number>();
    for (const x of answers) for (const r of x.body.results as Array<{ id: string; status: string }>) if (r.status === 'stored') stored.set(r.id, (stored.get(r.id) ?? 0) + 1);
    assert.deepEqual([...stored.values()].sort(), events.map(() => 1), 'each event stored by exactly one of the senders');
    for (const r of [a, b]) {
      const sid = answers[0]!.body.results[r === a ? 0 : 5].session_id;
      assert.equal((await call(t.app, 'GET', `/api/sessions/${sid}/logs?limit=100`)).body.data.length, 6);
      assert.equal((await call(t.app, 'GET', `/api/sessions/${sid}/events?limit=100`)).body.data.length, 4);
      assert.equal((await call(t.app, 'GET', `/api/sessions/${sid}/messages`)).body.data.length, 2);
    }
  });

  test('the route is in the OpenAPI document with its body schema', async () => {
    const doc = (await call(t.app, 'GET', '/api/openapi.json')).body;
    const op = doc.paths['/api/hooks/batch']?.post;
    assert.ok(op, 'POST /api/hooks/batch documented');
    const schema = op.requestBody.content['application/json'].schema;
    assert.equal(schema.properties.events.maxItems, 500);
    assert.deepEqual(Object.keys(schema.properties.events.items.properties).sort(), ['event', 'id', 'payload']);
  });

  test('a batch over the limits is refused whole: more than 500 events is 400, over the body limit 413, an empty one 400', async () => {
    const r = run();
    const many = Array.from({ length: 501 }, (_, i) => ({ event: 'Notification', id: `n-${i}`, payload: { session_id: r.sessionId } }));
    assert.equal((await batch(many)).status, 400);
    const big = Array.from({ length: 40 }, (_, i) => ({ event: 'Notification', id: `b-${i}`, payload: { ...r.Notification, message: 'x'.repeat(8000) } }));
    const res = await batch(big);
    assert.equal(res.status, 413);
    assert.equal((await batch([])).status, 400);
    assert.equal((await call(t.app, 'GET', `/api/sessions?limit=200`)).body.data.filter((s: { claude_session_id: string }) => s.claude_session_id === r.sessionId).length, 0, 'nothing stored');
  });
});
