import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { call, createTestApp, type TestApp } from './helpers/app.ts';
import { recordEvents } from './helpers/events.ts';

let t: TestApp;
before(async () => {
  t = await createTestApp({ resultMaxBytes: 2048 });
});
after(async () => {
  await t.close();
});

async function newSession(): Promise<{ id: string; updated_at: string }> {
  return (await call(t.app, 'POST', '/api/sessions', { project_path: '/w' })).body;
}

describe('messages', () => {
  test('POST stores a message, moves updated_at and publishes an event; GET returns oldest first', async () => {
    const s = await newSession();
    const live = recordEvents(t.events);
    await new Promise((r) => setTimeout(r, 5));
    const m1 = await call(t.app, 'POST', `/api/sessions/${s.id}/messages`, { direction: 'user', content: 'first', source: 'slack' });
    const m2 = await call(t.app, 'POST', `/api/sessions/${s.id}/messages`, { direction: 'assistant', content: 'second', metadata: { k: 1 } });
    assert.equal(m1.status, 201);
    assert.equal(m1.body.source, 'slack');
    assert.equal(m2.body.source, 'api');
    assert.deepEqual(m2.body.metadata, { k: 1 });
    const seen = () => live.events.filter((e) => e.type === 'message.created').map((e) => `${e.session_id}:${(e as { message: { content: string } }).message.content}`);
    await live.until(() => seen().length >= 2, 'two message events');
    live.stop();
    assert.deepEqual(seen(), [`${s.id}:first`, `${s.id}:second`]);
    const list = await call(t.app, 'GET', `/api/sessions/${s.id}/messages`);
    assert.deepEqual(list.body.data.map((m: { content: string }) => m.content), ['first', 'second']);
    const session = await call(t.app, 'GET', `/api/sessions/${s.id}`);
    assert.ok(session.body.updated_at > s.updated_at, 'updated_at moved');
  });

  test('cursor pagination walks a long conversation exactly once', async () => {
    const s = await newSession();
    for (let i = 0; i < 25; i++) await call(t.app, 'POST', `/api/sessions/${s.id}/messages`, { direction: 'user', content: `m${i}` });
    const got: string[] = [];
    let cursor: string | null = null;
    do {
      const r: Awaited<ReturnType<typeof call>> = await call(t.app, 'GET', `/api/sessions/${s.id}/messages?limit=10${cursor ? `&cursor=${cursor}` : ''}`);
      got.push(...r.body.data.map((m: { content: string }) => m.content));
      cursor = r.body.next_cursor;
    } while (cursor);
    assert.deepEqual(got, Array.from({ length: 25 }, (_, i) => `m${i}`));
  });

  test('bad input: 400 naming the field, 404 for unknown session, nothing stored', async () => {
    const s = await newSession();
    for (const [body, field] of [
      [{ direction: 'robot', content: 'x' }, 'body.direction'],
      [{ direction: 'user', content: '' }, 'body.content'],
      [{ direction: 'user', content: 'x', source: 'email' }, 'body.source'],
      [{ content: 'x' }, 'body.direction'],
    ] as const) {
      const r = await call(t.app, 'POST', `/api/sessions/${s.id}/messages`, body);
      assert.equal(r.status, 400);
      assert.ok(r.body.error.message.includes(field), r.body.error.message);
    }
    const unknown = await call(t.app, 'POST', '/api/sessions/00000000-0000-4000-8000-0000000000aa/messages', { direction: 'user', content: 'x' });
    assert.equal(unknown.status, 404);
    assert.equal((await call(t.app, 'GET', '/api/sessions/00000000-0000-4000-8000-0000000000aa/messages')).status, 404);
    const list = await call(t.app, 'GET', `/api/sessions/${s.id}/messages`);
    assert.equal(list.body.data.length, 0);
  });

  test('a body over the limit is 413', async () => {
    const small = await createTestApp({ bodyLimitBytes: 2048 });
    try {
      const s = (await call(small.app, 'POST', '/api/sessions', { project_path: '/w' })).body;
      const r = await call(small.app, 'POST', `/api/sessions/${s.id}/messages`, { direction: 'user', content: 'x'.repeat(5000) });
      assert.equal(r.status, 413);
      assert.equal(r.body.error.code, 'body_too_large');
    } finally {
      await small.close();
    }
  });
});

const postToolUse = (sessionId: string, toolUseId: string, extra: Record<string, unknown> = {}) => ({
  session_id: sessionId,
  transcript_path: `/home/agent/.claude/projects/-srv-work-proj/${sessionId}.jsonl`,
  cwd: '/srv/work/proj',
  prompt_id: '7906c1be-3cd9-4751-a784-44976dfab41a',
  permission_mode: 'default',
  effort: { level: 'medium' },
  hook_event_name: 'PostToolUse',
  tool_name: 'Bash',
  tool_input: { command: 'echo hello-from-bash > out.txt && cat out.txt', description: 'step' },
  tool_response: { stdout: 'hello-from-bash', stderr: '', interrupted: false, isImage: false, noOutputExpected: false },
  tool_use_id: toolUseId,
  duration_ms: 26,
  ...extra,
});

describe('POST /api/hooks/tool-complete', () => {
  test('an unknown Claude Code session becomes a session; the log holds tool, input, output, duration', async () => {
    const claudeId = '5f0c2a8e-1b7d-4c3e-9a61-2d8f4b7e9c10';
    const r = await call(t.app, 'POST', '/api/hooks/tool-complete', postToolUse(claudeId, 'toolu_116_0'));
    assert.equal(r.status, 200);
    assert.equal(r.body.duplicate, false);
    const s = await call(t.app, 'GET', `/api/sessions/${r.body.session_id}`);
    assert.equal(s.body.claude_session_id, claudeId);
    assert.equal(s.body.project_path, '/srv/work/proj');
    assert.equal(s.body.project_type, 'local');
    assert.equal(s.body.source, 'cli');
    assert.equal(s.body.metadata.started_outside_orchestrator, true);
    const logs = await call(t.app, 'GET', `/api/sessions/${r.body.session_id}/logs`);
    assert.equal(logs.body.data.length, 1);
    const log = logs.body.data[0];
    assert.equal(log.tool, 'Bash');
    assert.equal(log.status, 'completed');
    assert.equal(log.duration_ms, 26);
    assert.equal(log.tool_use_id, 'toolu_116_0');
    assert.deepEqual(log.input, { command: 'echo hello-from-bash > out.txt && cat out.txt', description: 'step' });
    assert.equal(JSON.parse(log.result).stdout, 'hello-from-bash');
  });

  test('a known session gets the log; redelivery is stored once; failures are status error', async () => {
    const s = (await call(t.app, 'POST', '/api/sessions', { project_path: '/w', claude_session_id: 'claude-known-1' })).body;
    const first = await call(t.app, 'POST', '/api/hooks/tool-complete', postToolUse('claude-known-1', 'toolu_a'));
    const again = await call(t.app, 'POST', '/api/hooks/tool-complete', postToolUse('claude-known-1', 'toolu_a'));
    assert.equal(first.body.session_id, s.id);
    assert.equal(again.body.duplicate, true);
    const fail = await call(t.app, 'POST', '/api/hooks/tool-complete', {
      ...postToolUse('claude-known-1', 'toolu_118_0'),
      hook_event_name: 'PostToolUseFailure',
      tool_input: { command: 'echo to-stderr 1>&2; exit 3', description: 'step' },
      tool_response: undefined,
      error: 'Exit code 3\nto-stderr',
      is_interrupt: false,
      duration_ms: 28,
    });
    assert.equal(fail.status, 200);
    const logs = await call(t.app, 'GET', `/api/sessions/${s.id}/logs`);
    assert.equal(logs.body.data.length, 2);
    const errors = await call(t.app, 'GET', `/api/sessions/${s.id}/logs?status=error`);
    assert.equal(errors.body.data.length, 1);
    assert.equal(errors.body.data[0].result, 'Exit code 3\nto-stderr');
    const sessions = await call(t.app, 'GET', '/api/sessions?limit=200');
    assert.equal(sessions.body.data.filter((x: { claude_session_id: string }) => x.claude_session_id === 'claude-known-1').length, 1);
  });

  test('concurrent first events of one run create exactly one session', async () => {
    const claudeId = 'claude-race-1';
    const rs = await Promise.all(Array.from({ length: 12 }, (_, i) => call(t.app, 'POST', '/api/hooks/tool-complete', postToolUse(claudeId, `toolu_r${i}`))));
    assert.ok(rs.every((r) => r.status === 200));
    assert.equal(new Set(rs.map((r) => r.body.session_id)).size, 1);
    const logs = await call(t.app, 'GET', `/api/sessions/${rs[0]!.body.session_id}/logs?limit=200`);
    assert.equal(logs.body.data.length, 12);
  });

  test('large results are cut with the flag and the original size kept; filters by tool', async () => {
    const big = 'é'.repeat(3000); // 6000 bytes, over the 2048-byte limit of this app
    const r = await call(t.app, 'POST', '/api/hooks/tool-complete', { ...postToolUse('claude-big', 'toolu_big'), tool_name: 'Read', tool_response: big });
    const logs = await call(t.app, 'GET', `/api/sessions/${r.body.session_id}/logs?tool=Read`);
    const log = logs.body.data[0];
    assert.equal(log.result_truncated, true);
    assert.equal(log.result_size, 6000);
    assert.ok(Buffer.byteLength(log.result) <= 2048);
    assert.ok(log.result.startsWith('éé'));
    assert.equal((await call(t.app, 'GET', `/api/sessions/${r.body.session_id}/logs?tool=Bash`)).body.data.length, 0);
  });

  test('malformed events are 400, never 500', async () => {
    for (const body of [{}, { session_id: 'x' }, { session_id: 'x', tool_name: '' }, { session_id: 'x', tool_name: 'Bash', duration_ms: -1 }, { session_id: 5, tool_name: 'Bash' }, []]) {
      const r = await call(t.app, 'POST', '/api/hooks/tool-complete', body);
      assert.equal(r.status, 400, JSON.stringify(body));
      assert.equal(r.body.error.code, 'invalid_request');
    }
  });

  test('logs: pagination and bad filters', async () => {
    const claudeId = 'claude-pages';
    let sid = '';
    for (let i = 0; i < 15; i++) sid = (await call(t.app, 'POST', '/api/hooks/tool-complete', postToolUse(claudeId, `toolu_p${i}`))).body.session_id;
    const page1 = await call(t.app, 'GET', `/api/sessions/${sid}/logs?limit=10`);
    const page2 = await call(t.app, 'GET', `/api/sessions/${sid}/logs?limit=10&cursor=${page1.body.next_cursor}`);
    assert.equal(page1.body.data.length, 10);
    assert.equal(page2.body.data.length, 5);
    assert.equal(page2.body.next_cursor, null);
    assert.equal((await call(t.app, 'GET', `/api/sessions/${sid}/logs?status=weird`)).status, 400);
    assert.equal((await call(t.app, 'GET', `/api/sessions/${sid}/logs?cursor=abc`)).status, 400);
  });
});
