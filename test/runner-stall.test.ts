import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import pino from 'pino';
import { call } from './helpers/app.ts';
import { allMessages, createRunnerHarness, waitFor, waitIdle } from './helpers/runner.ts';

test('a turn that shows no progress for TURN_STALL_WARN_S gets a system message and a warn log, and still finishes', async () => {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString().split('\n')) if (l) lines.push(JSON.parse(l) as Record<string, unknown>);
      done();
    },
  });
  const h = await createRunnerHarness({ logger: pino({ level: 'info' }, sink), runner: { turnStallWarnS: 2 } });
  try {
    // The model takes 8 s to answer: nothing moves in the turn meanwhile.
    const script = [{ text: 'a slow answer', delay_ms: 8_000 }];
    const created = await call(h.t.app, 'POST', '/api/sessions', { prompt: `SCRIPT_JSON:${JSON.stringify(script)}` });
    const sessionId = created.body.id as string;
    const turnId = created.body.turn.id as number;
    const stalled = await waitFor('the stall notice', async () =>
      (await allMessages(h.t, sessionId)).find((m) => m.direction === 'system' && m.metadata.reason === 'stalled'), 60_000);
    assert.equal(stalled.metadata.turn_id, turnId);
    assert.match(stalled.content, /no progress for \d+ s/i);
    const turns = await call(h.t.app, 'GET', `/api/sessions/${sessionId}/turns`);
    assert.equal(turns.body.data[0].status, 'running', 'the notice came while the turn ran');
    const warn = lines.find((l) => l.msg === 'turn shows no progress');
    assert.ok(warn, 'a warn log');
    assert.equal(warn.level, 40);
    assert.equal(warn.sessionId, sessionId);
    assert.equal(warn.turnId, turnId);

    const s = await waitIdle(h.t, sessionId, 1);
    assert.equal(s.status, 'active');
    const messages = await allMessages(h.t, sessionId);
    assert.equal(messages.at(-1)!.content, 'a slow answer');
    // Once per stall, not every interval: the 8 s wait is one notice (a slow start under load may add one).
    assert.ok(messages.filter((m) => m.metadata.reason === 'stalled').length <= 2, 'one notice per stall');
    assert.ok(lines.some((l) => l.msg === 'turn progressing again' && l.turnId === turnId), 'progress afterwards is logged');
  } finally {
    await h.close();
  }
});
