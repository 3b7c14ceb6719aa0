import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Scheduler } from './scheduler.ts';

test('FIFO across sessions, limit respected, one turn per session', () => {
  const s = new Scheduler(2);
  s.add({ turnId: 1, sessionId: 'a' });
  s.add({ turnId: 2, sessionId: 'a' });
  s.add({ turnId: 3, sessionId: 'b' });
  s.add({ turnId: 4, sessionId: 'c' });
  assert.deepEqual(s.take().map((t) => t.turnId), [1, 3]);
  assert.deepEqual(s.take(), []);
  assert.equal(s.position('c'), 1);
  assert.equal(s.position('a'), null, 'a is running');
  s.finished('a');
  assert.equal(s.position('a'), 1, "a's second turn arrived before c's");
  assert.equal(s.position('c'), 2);
  assert.deepEqual(s.take().map((t) => t.turnId), [2]);
});

test('held sessions are skipped and keep their turns', () => {
  const s = new Scheduler(1);
  s.add({ turnId: 1, sessionId: 'a' });
  s.add({ turnId: 2, sessionId: 'b' });
  s.hold('a');
  assert.deepEqual(s.take().map((t) => t.turnId), [2]);
  s.finished('b');
  assert.deepEqual(s.take(), []);
  s.release('a');
  assert.deepEqual(s.take().map((t) => t.turnId), [1]);
});

test('drop removes only that session, duplicates are ignored', () => {
  const s = new Scheduler(5);
  s.add({ turnId: 1, sessionId: 'a' });
  s.add({ turnId: 1, sessionId: 'a' });
  s.add({ turnId: 2, sessionId: 'b' });
  s.drop('a');
  assert.equal(s.waitingFor('a'), 0);
  assert.deepEqual(s.take().map((t) => t.turnId), [2]);
});
