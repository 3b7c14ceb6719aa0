/** POST /api/hooks/:event and GET /api/sessions/:id/events, with payloads shaped like Claude Code's (reference §1.3). */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { sql } from 'kysely';
import { listMigrations, migrate } from '../src/db/migrate.ts';
import { call, capturingLogger, createTestApp, type TestApp } from './helpers/app.ts';
import { recordEvents, type EventRecorder } from './helpers/events.ts';
import { createTestDb } from './helpers/db.ts';
import { run } from './helpers/hook-payloads.ts';

const { logger, lines: logLines } = capturingLogger('warn');

let t: TestApp;
let live: EventRecorder;
before(async () => {
  t = await createTestApp({ logger, bodyLimitBytes: 256 * 1024 });
  live = recordEvents(t.events);
});
after(async () => {
  await t.close();
});

const post = (event: string, body: unknown) => call(t.app, 'POST', `/api/hooks/${event}`, body);
async function postWithId(event: string, body: unknown, headers: Record<string, string>) {
  const res = await t.app.inject({ method: 'POST', url: `/api/hooks/${event}`, headers, payload: body as object });
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  return { status: res.statusCode, body: res.json() as any };
}
const ORDER = ['SessionStart', 'UserPromptSubmit', 'PostToolUse', 'PostToolUseFailure', 'SubagentStop', 'Notification', 'PreCompact', 'Stop', 'SessionEnd'] as const;

describe('POST /api/hooks/:event', () => {
  test('a whole run started outside the orchestrator is stored: session, messages, logs, events; SessionEnd completes it', async () => {
    const r = run();
    let sessionId = '';
    for (const e of ORDER) {
      const res = await post(e, r[e]);
      assert.equal(res.status, 200, `${e}: ${JSON.stringify(res.body)}`);
      assert.equal(res.body.stored, true, e);
      assert.equal(res.body.duplicate, false, e);
      sessionId ||= res.body.session_id;
      assert.equal(res.body.session_id, sessionId, 'every event lands in one session');
    }
    const s = await call(t.app, 'GET', `/api/sessions/${sessionId}`);
    assert.equal(s.body.claude_session_id, r.sessionId);
    assert.equal(s.body.project_path, '/srv/work/proj');
    assert.equal(s.body.source, 'cli');
    assert.equal(s.body.status, 'completed');

    const msgs = (await call(t.app, 'GET', `/api/sessions/${sessionId}/messages`)).body.data;
    assert.deepEqual(msgs.map((m: { direction: string; content: string; source: string }) => [m.direction, m.content, m.source]), [
      ['user', 'SCRIPT:bash', 'cli'],
      ['assistant', 'Finished script bash.', 'cli'],
    ]);
    assert.equal(msgs[0].metadata.prompt_id, r.UserPromptSubmit.prompt_id);

    const logs = (await call(t.app, 'GET', `/api/sessions/${sessionId}/logs`)).body.data;
    assert.equal(logs.length, 2);
    assert.deepEqual([logs[0].tool_use_id, logs[0].status, logs[0].duration_ms, logs[0].result], [r.PostToolUse.tool_use_id, 'completed', 26, JSON.stringify(r.PostToolUse.tool_response)]);
    assert.deepEqual([logs[1].tool_use_id, logs[1].status, logs[1].result], [r.PostToolUseFailure.tool_use_id, 'error', 'Exit code 3\nto-stderr']);

    const events = (await call(t.app, 'GET', `/api/sessions/${sessionId}/events`)).body.data;
    assert.deepEqual(events.map((e: { event: string }) => e.event), ['SessionStart', 'UserPromptSubmit', 'SubagentStop', 'Notification', 'PreCompact', 'Stop', 'SessionEnd']);
    const byName = Object.fromEntries(events.map((e: { event: string; data: Record<string, unknown> }) => [e.event, e.data]));
    assert.equal(byName.SessionStart.source, 'startup');
    assert.equal(byName.SessionEnd.reason, 'other');
    assert.equal(byName.Notification.notification_type, 'permission_prompt');
    assert.equal(byName.PreCompact.custom_instructions, 'keep tool names');
    assert.equal(byName.SubagentStop.last_assistant_message, 'Finished script sub.');
    assert.equal(byName.UserPromptSubmit.prompt, undefined, 'the prompt is stored once, as the message');

    const only = await call(t.app, 'GET', `/api/sessions/${sessionId}/events?event=SessionEnd&limit=1`);
    assert.equal(only.body.data.length, 1);

    const mine = () => live.events.filter((e) => e.session_id === sessionId).map((e) => e.type);
    // session.updated twice: the first prompt names the session, SessionEnd closes it.
    await live.until(() => mine().filter((x) => x === 'session.updated').length === 2, 'the run\'s events');
    const types = mine();
    assert.equal(types[0], 'session.created');
    assert.equal(types.filter((x) => x === 'session_event.created').length, 7);
    assert.equal(types.filter((x) => x === 'message.created').length, 2);
    assert.equal(types.filter((x) => x === 'log.created').length, 2);
    assert.equal(types.at(-1), 'session.updated');
  });

  test('kebab-case names are accepted; a mismatching hook_event_name or unknown event is 400', async () => {
    const r = run();
    assert.equal((await post('session-start', r.SessionStart)).body.event, 'SessionStart');
    assert.equal((await post('post-tool-use-failure', r.PostToolUseFailure)).body.log_id > 0, true);
    const mismatch = await post('Stop', r.SessionStart);
    assert.equal(mismatch.status, 400);
    assert.equal(mismatch.body.error.code, 'event_mismatch');
    const unknown = await post('PreToolUse', { ...r.SessionStart, hook_event_name: 'PreToolUse' });
    assert.equal(unknown.status, 400);
    assert.equal(unknown.body.error.code, 'unknown_event');
  });

  test('a redelivered event (same x-cco-event-id) is stored once, by the database', async () => {
    const r = run();
    for (const e of ORDER) {
      const id = `${Date.now()}000000-4242-${randomUUID().slice(-12)}-${e}`;
      const first = await postWithId(e, r[e], { 'x-cco-event-id': id });
      const again = await postWithId(e, r[e], { 'x-cco-event-id': id });
      assert.equal(again.status, 200);
      assert.equal(first.body.duplicate, false, e);
      assert.equal(again.body.duplicate, true, e);
      assert.equal(again.body.session_id, first.body.session_id);
    }
    // Concurrent redeliveries (two workers, a flush racing a worker) race in the database, not in memory.
    const burst = await Promise.all([1, 2, 3, 4].map(() => postWithId('Notification', { ...r.Notification, message: 'again' }, { 'x-cco-event-id': 'burst-1' })));
    assert.equal(burst.filter((b) => b.body.stored).length, 1);
    const sid = burst[0]!.body.session_id;
    const ev = (await call(t.app, 'GET', `/api/sessions/${sid}/events?limit=200`)).body.data;
    assert.equal(ev.length, 8);
    assert.equal((await call(t.app, 'GET', `/api/sessions/${sid}/messages`)).body.data.length, 2);
    assert.equal((await call(t.app, 'GET', `/api/sessions/${sid}/logs`)).body.data.length, 2);
  });

  test('identical events are each stored: without an id never deduplicated, with different ids twice; Idempotency-Key works like the event id', async () => {
    const r = run();
    const stop = await post('Stop', r.Stop);
    assert.equal((await post('Stop', r.Stop)).body.stored, true, 'the same answer twice is two events');
    assert.equal((await post('Notification', r.Notification)).body.stored, true);
    assert.equal((await post('Notification', r.Notification)).body.stored, true, 'a repeated notification is stored again');
    assert.equal((await postWithId('Notification', r.Notification, { 'x-cco-event-id': 'a' })).body.stored, true);
    assert.equal((await postWithId('Notification', r.Notification, { 'x-cco-event-id': 'b' })).body.stored, true);
    assert.equal((await postWithId('Notification', r.Notification, { 'idempotency-key': 'k1' })).body.stored, true);
    assert.equal((await postWithId('Notification', r.Notification, { 'idempotency-key': 'k1' })).body.duplicate, true);
    const sid = stop.body.session_id;
    const msgs = (await call(t.app, 'GET', `/api/sessions/${sid}/messages`)).body.data;
    assert.deepEqual(msgs.map((m: { content: string }) => m.content), ['Finished script bash.', 'Finished script bash.']);
    const ev = (await call(t.app, 'GET', `/api/sessions/${sid}/events?event=Notification`)).body.data;
    assert.equal(ev.length, 5);
    const bad = await postWithId('Notification', r.Notification, { 'x-cco-event-id': 'x'.repeat(300) });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error.code, 'invalid_event_id');
  });

  test('migration 0005 keeps the events stored before it, and their keys still absorb redeliveries', async () => {
    const db = await createTestDb({ migrate: false });
    try {
      const all = listMigrations();
      await migrate(db.database.db, all.filter((m) => m.id <= 4));
      const sessionId = randomUUID();
      await sql`insert into sessions (id, claude_session_id, project_path, project_type) values (${sessionId}, ${randomUUID()}, '/p', 'local')`.execute(db.database.db);
      await sql`insert into session_events (session_id, event, event_key, data) values (${sessionId}, 'Stop', ${'f'.repeat(64)}, '{"a":1}'::jsonb)`.execute(db.database.db);
      assert.deepEqual(await migrate(db.database.db, all), all.filter((m) => m.id > 4).map((m) => `${String(m.id).padStart(4, '0')}_${m.name}`));
      const rows = await sql<{ event_key: string | null }>`select event_key from session_events where session_id = ${sessionId}`.execute(db.database.db);
      assert.deepEqual(rows.rows.map((x) => x.event_key), ['f'.repeat(64)]);
      const again = await sql`insert into session_events (session_id, event, event_key, data) values (${sessionId}, 'Stop', ${'f'.repeat(64)}, '{}'::jsonb) on conflict (session_id, event, event_key) do nothing`.execute(db.database.db);
      assert.equal(Number(again.numAffectedRows ?? 0), 0);
      for (let i = 0; i < 2; i++) await sql`insert into session_events (session_id, event, event_key, data) values (${sessionId}, 'Stop', null, '{}'::jsonb) on conflict (session_id, event, event_key) do nothing`.execute(db.database.db);
      const n = await sql<{ n: number }>`select count(*)::int as n from session_events where session_id = ${sessionId}`.execute(db.database.db);
      assert.equal(n.rows[0]!.n, 3);
    } finally {
      await db.close();
    }
  });

  test('events for a completed session are still stored; the status stays completed', async () => {
    const r = run();
    const end = await post('SessionEnd', r.SessionEnd);
    assert.equal(end.body.session_completed, true);
    const late = await post('UserPromptSubmit', { ...r.UserPromptSubmit, prompt: 'resumed by hand' });
    assert.equal(late.body.stored, true);
    assert.equal((await post('PostToolUse', r.PostToolUse)).body.stored, true);
    const s = await call(t.app, 'GET', `/api/sessions/${end.body.session_id}`);
    assert.equal(s.body.status, 'completed');
    const msgs = (await call(t.app, 'GET', `/api/sessions/${end.body.session_id}/messages`)).body.data;
    assert.equal(msgs[0].content, 'resumed by hand');
  });

  for (const how of ['managed', 'metadata.managed_by'] as const) test(`runner-managed sessions (${how}): prompt and Stop are ignored, SessionEnd does not complete, tool events dedupe by tool_use_id`, async () => {
    const r = run();
    const session = await t.sessions.create({
      project_path: '/srv/work/proj', project_type: 'local', claude_session_id: r.sessionId,
      ...(how === 'managed' ? { managed: true } : { metadata: { managed_by: 'runner' } }),
    });
    const id = session.id;
    const runnerLog = await call(t.app, 'GET', `/api/sessions/${id}/logs`);
    assert.equal(runnerLog.body.data.length, 0);
    await t.sessions.addLog(id, { tool: 'Bash', tool_use_id: r.PostToolUse.tool_use_id, input: {}, result: 'x', result_truncated: false, result_size: 1, status: 'completed' });
    for (const e of ['UserPromptSubmit', 'Stop'] as const) {
      const res = await post(e, r[e]);
      assert.equal(res.body.ignored, 'managed_by_runner');
      assert.equal(res.body.session_id, id);
    }
    assert.equal((await post('PostToolUse', r.PostToolUse)).body.duplicate, true);
    assert.equal((await post('SessionEnd', r.SessionEnd)).body.stored, true);
    assert.equal((await call(t.app, 'GET', `/api/sessions/${id}`)).body.status, 'active');
    assert.equal((await call(t.app, 'GET', `/api/sessions/${id}/messages`)).body.data.length, 0);
    assert.equal((await call(t.app, 'GET', `/api/sessions/${id}/logs`)).body.data.length, 1);
  });

  test('malformed and oversized events are 4xx, logged once each, never 500', async () => {
    const r = run();
    const cases: Array<[string, () => Promise<{ status: number; body: { error?: { code: string } } }>, number, string]> = [
      ['not JSON', async () => {
        const res = await t.app.inject({ method: 'POST', url: '/api/hooks/Stop', headers: { 'content-type': 'application/json' }, payload: '{"session_id":' });
        return { status: res.statusCode, body: res.json() };
      }, 400, 'invalid_json'],
      ['no session_id', () => post('Stop', { hook_event_name: 'Stop' }), 400, 'invalid_request'],
      ['prompt missing', () => post('UserPromptSubmit', { ...r.UserPromptSubmit, prompt: undefined }), 400, 'invalid_request'],
      ['tool_name missing', () => post('PostToolUse', { ...r.PostToolUse, tool_name: undefined }), 400, 'invalid_request'],
      ['wrong type', () => post('SessionStart', { ...r.SessionStart, source: 5 }), 400, 'invalid_request'],
      ['array body', () => post('Stop', [1, 2]), 400, 'invalid_request'],
      ['oversized', () => post('PostToolUse', { ...r.PostToolUse, tool_response: { stdout: 'x'.repeat(300 * 1024) } }), 413, 'body_too_large'],
      ['text/plain', async () => {
        const res = await t.app.inject({ method: 'POST', url: '/api/hooks/Stop', headers: { 'content-type': 'text/plain' }, payload: 'hi' });
        return { status: res.statusCode, body: res.json() };
      }, 415, 'unsupported_media_type'],
    ];
    for (const [name, send, status, code] of cases) {
      const before = logLines.length;
      const res = await send();
      assert.equal(res.status, status, name);
      assert.equal(res.body.error?.code, code, name);
      const lines = logLines.slice(before).filter((l) => l.msg === 'hook event rejected');
      assert.equal(lines.length, 1, `${name}: logged once`);
    }
    assert.equal(logLines.filter((l) => Number(l.level) >= 50).length, 0, 'no error-level lines (a 500 would log one)');
  });

  test('large strings are cut in session events; GET events of an unknown session is 404', async () => {
    const r = run();
    const res = await post('PreCompact', { ...r.PreCompact, custom_instructions: 'y'.repeat(20_000) });
    const ev = (await call(t.app, 'GET', `/api/sessions/${res.body.session_id}/events`)).body.data[0];
    assert.equal(Buffer.byteLength(ev.data.custom_instructions), 8 * 1024);
    assert.deepEqual(ev.data._truncated_fields, ['custom_instructions']);
    const missing = await call(t.app, 'GET', `/api/sessions/${randomUUID()}/events`);
    assert.equal(missing.status, 404);
  });
});
