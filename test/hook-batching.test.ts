/**
 * Concurrent PostToolUse events share one statement (SessionService's hook
 * batcher); each must still get its own answer, duplicates must be stored once,
 * and new Claude sessions created once.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, test } from 'node:test';
import { upsertSessionsAndInsertLogs } from '../src/db/queries/command-logs.ts';
import { call, createTestApp, type TestApp } from './helpers/app.ts';
import { recordEvents } from './helpers/events.ts';

let t: TestApp;
before(async () => {
  t = await createTestApp();
});
after(async () => {
  await t.close();
});

const event = (sessionId: string, toolUseId: string | undefined, n: number) => ({
  session_id: sessionId,
  cwd: `/srv/work/${sessionId}`,
  hook_event_name: 'PostToolUse',
  tool_name: 'Bash',
  tool_input: { command: `echo ${n}`, description: 'step' },
  tool_response: { stdout: String(n), stderr: '', interrupted: false, isImage: false, noOutputExpected: false },
  ...(toolUseId ? { tool_use_id: toolUseId } : {}),
  duration_ms: n,
});

test('a burst of concurrent hook events: one answer each, redeliveries stored once, one session per Claude session', async () => {
  const known = await call(t.app, 'POST', '/api/sessions', { project_path: '/srv/work/known', claude_session_id: `known-${randomUUID()}` });
  assert.equal(known.status, 201);
  const claudeIds = [known.body.claude_session_id as string, randomUUID(), randomUUID()];
  const live = recordEvents(t.events);

  // 60 distinct calls, 10 redeliveries of some of them, and 6 events without a tool_use_id.
  const bodies = [
    ...Array.from({ length: 60 }, (_, i) => event(claudeIds[i % 3] as string, `toolu_b_${i}`, i)),
    ...Array.from({ length: 10 }, (_, i) => event(claudeIds[(i * 6) % 3] as string, `toolu_b_${i * 6}`, i * 6)),
    ...Array.from({ length: 6 }, (_, i) => event(claudeIds[i % 3] as string, undefined, 100 + i)),
  ];
  const answers = await Promise.all(bodies.map((b) => call(t.app, 'POST', '/api/hooks/tool-complete', b)));

  for (const a of answers) assert.equal(a.status, 200, JSON.stringify(a.body));
  const sessionOf = new Map<string, string>();
  answers.forEach((a, i) => {
    const claudeId = (bodies[i] as { session_id: string }).session_id;
    const seen = sessionOf.get(claudeId);
    if (seen) assert.equal(a.body.session_id, seen, 'every event of one Claude session lands in one session');
    sessionOf.set(claudeId, a.body.session_id);
  });
  assert.equal(sessionOf.get(claudeIds[0] as string), known.body.id);
  assert.equal(new Set(sessionOf.values()).size, 3);

  const stored = answers.filter((a) => !a.body.duplicate);
  assert.equal(stored.length, 66, '60 calls + 6 without tool_use_id stored, 10 redeliveries not');
  assert.equal(new Set(stored.map((a) => a.body.log_id)).size, 66, 'each stored event names its own log');
  for (const a of answers.filter((x) => x.body.duplicate)) assert.equal(a.body.log_id, null);

  let total = 0;
  for (const [claudeId, sessionId] of sessionOf) {
    const logs = await call(t.app, 'GET', `/api/sessions/${sessionId}/logs?limit=200`);
    assert.equal(logs.status, 200);
    total += logs.body.data.length;
    for (const l of logs.body.data) {
      const i = bodies.findIndex((b) => b.session_id === claudeId && (b as { tool_use_id?: string }).tool_use_id === (l.tool_use_id ?? undefined) && b.duration_ms === l.duration_ms);
      assert.ok(i >= 0, `log ${l.id} matches an event sent`);
      assert.equal(l.result, JSON.stringify((bodies[i] as { tool_response: unknown }).tool_response));
      const answer = answers[i] as { body: { log_id: number } };
      if (l.tool_use_id === null) assert.equal(answer.body.log_id, l.id, 'an event without tool_use_id is told its own log id');
    }
  }
  assert.equal(total, 66);

  // Each new session is announced before its first log, so once all 66 logs are in, both announcements are.
  // The known session's own announcement may arrive after the recorder started: not counted.
  const count = (type: string) => live.events.filter((e) => e.type === type && !(type === 'session.created' && e.session_id === known.body.id)).length;
  await live.until(() => count('log.created') >= 66, 'the 66 log events');
  assert.equal(count('session.created'), 2, 'two new Claude sessions, each announced once');
  assert.equal(count('log.created'), 66);
  live.stop();
  const newSession = await call(t.app, 'GET', `/api/sessions/${sessionOf.get(claudeIds[1] as string)}`);
  assert.equal(newSession.body.metadata.started_outside_orchestrator, true);
  assert.equal(newSession.body.project_path, `/srv/work/${claudeIds[1]}`);
});

test('the batch statement itself: repeated tool_use_id inside one batch stored once, events without one each get their row', async () => {
  const claudeId = randomUUID();
  const seed = { id: randomUUID(), claudeSessionId: claudeId, projectPath: '/srv/work/batch', metadata: { started_outside_orchestrator: true }, owner: 'alice' };
  const log = (toolUseId: string | null, n: number) => ({
    tool_use_id: toolUseId, tool: 'Read', input: { file_path: `/f${n}` }, result: `r${n}`, result_truncated: false,
    result_size: 2, status: 'completed', duration_ms: n, metadata: {},
  });
  const items = [log('toolu_x', 1), log(null, 2), log('toolu_x', 3), log(null, 4), log('toolu_y', 5)].map((l) => ({ seed: { ...seed, id: randomUUID() }, log: l }));
  const out = await upsertSessionsAndInsertLogs(t.db.database.db, items);
  assert.equal(out.length, 5);
  assert.equal(new Set(out.map((o) => o.sessionId)).size, 1);
  assert.ok(out[0]?.createdSession, 'the first event of the new Claude session created it');
  assert.deepEqual(out.slice(1).map((o) => o.createdSession), [undefined, undefined, undefined, undefined]);
  assert.deepEqual(out.map((o) => o.log?.duration_ms ?? null), [1, 2, null, 4, 5]);
  const again = await upsertSessionsAndInsertLogs(t.db.database.db, items.slice(0, 2));
  assert.equal(again[0]?.log, undefined, 'a redelivered event is not stored again');
  assert.equal(again[1]?.log?.duration_ms, 2, 'an event without tool_use_id cannot be recognised as redelivered');
  assert.equal(again[0]?.createdSession, undefined);
});
