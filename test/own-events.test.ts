/** OwnEvents (src/events/own-events.ts): what a process keeps of its own live events for its reader. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { OwnEvents } from '../src/events/own-events.ts';

const ev = (json: string) => ({ json, event: { json } });

test('keeps nothing until its reader runs, and nothing after it stops', () => {
  const own = new OwnEvents();
  assert.equal(own.keep(ev('a')), null);
  own.startKeeping();
  assert.equal(own.keep(ev('b')), 1);
  own.stopKeeping();
  assert.equal(own.size, 0);
  assert.equal(own.keep(ev('c')), null);
});

test('take gives each event once and forgets the ones numbered below it (passed for good)', () => {
  const own = new OwnEvents();
  own.startKeeping();
  const ns = ['a', 'b', 'c', 'd'].map((j) => own.keep(ev(j)));
  assert.deepEqual(ns, [1, 2, 3, 4]);
  assert.equal(own.take(3)?.json, 'c');
  assert.equal(own.take(3), undefined, 'once');
  assert.equal(own.take(1), undefined, 'below a taken one: gone');
  assert.equal(own.size, 1);
  assert.equal(own.take(4)?.json, 'd');
});

test('stops keeping at max; forget drops events whose write was given up', () => {
  const own = new OwnEvents(2);
  own.startKeeping();
  assert.equal(own.keep(ev('a')), 1);
  assert.equal(own.keep(ev('b')), 2);
  assert.equal(own.keep(ev('c')), null, 'full: this one goes out unstamped');
  own.forget([1, null]);
  assert.equal(own.size, 1);
  assert.equal(own.keep(ev('d')), 3);
});
