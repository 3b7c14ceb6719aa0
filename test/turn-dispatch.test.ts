/**
 * The queueing side of turns when the queue misbehaves: what the database acknowledged still runs.
 * (The normal paths are covered by the runner tests and test/scale-out.test.ts.)
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { call } from './helpers/app.ts';
import { createRunnerHarness, waitFor, waitIdle, type RunnerHarness } from './helpers/runner.ts';

let h: RunnerHarness;
before(async () => {
  h = await createRunnerHarness();
});
after(async () => {
  await h.close();
});

test('a message whose job could not be sent is acknowledged and still runs: the reconciler queues its job', async () => {
  const created = await call(h.t.app, 'POST', '/api/sessions', { prompt: 'first' });
  const id = created.body.id as string;
  await waitIdle(h.t, id, 1);

  const queue = h.t.queue;
  const send = queue.enqueue.bind(queue);
  let refused = 0;
  queue.enqueue = async (sessionId, turnId) => {
    if (sessionId === id && turnId !== 'reconciled') {
      refused += 1;
      throw new Error('connection terminated unexpectedly');
    }
    return send(sessionId, turnId);
  };
  try {
    const posted = await call(h.t.app, 'POST', `/api/sessions/${id}/messages`, { direction: 'user', content: 'second' });
    assert.equal(posted.status, 201, JSON.stringify(posted.body));
    assert.equal(posted.body.turn.state, 'queued');
    assert.equal(refused, 1, 'the job was refused');
    // The test app reconciles every 2 s (production: 30 s).
    const s = await waitFor('the turn ran through a reconciled job', async () => {
      const body = (await call(h.t.app, 'GET', `/api/sessions/${id}`)).body;
      return body.turn_state === 'idle' && body.totals.turns === 2 ? body : undefined;
    }, 30_000);
    assert.equal(s.totals.turns, 2);
    const turns = (await call(h.t.app, 'GET', `/api/sessions/${id}/turns`)).body.data as Array<{ status: string }>;
    assert.deepEqual(turns.map((t) => t.status), ['completed', 'completed']);
  } finally {
    delete (queue as Partial<typeof queue>).enqueue;
  }
});
