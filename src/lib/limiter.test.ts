import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Limiter } from './limiter.ts';

test('Limiter: never more than the limit at once, all tasks run in arrival order, a failure frees its slot', async () => {
  const limiter = new Limiter(2);
  let inFlight = 0;
  let most = 0;
  const started: number[] = [];
  const gates = Array.from({ length: 5 }, () => {
    let resolve!: () => void;
    const promise = new Promise<void>((r) => (resolve = r));
    return { promise, resolve };
  });
  const runs = gates.map((g, i) =>
    limiter.run(async () => {
      started.push(i);
      inFlight += 1;
      most = Math.max(most, inFlight);
      await g.promise;
      inFlight -= 1;
      if (i === 1) throw new Error('task 1 fails');
      return i;
    }),
  );
  await Promise.resolve();
  assert.deepEqual(started, [0, 1]);
  assert.equal(limiter.waiting, 3);
  for (const g of gates) g.resolve();
  const results = await Promise.allSettled(runs);
  assert.equal(most, 2);
  assert.deepEqual(started, [0, 1, 2, 3, 4]);
  assert.equal(results[1]!.status, 'rejected');
  assert.equal(limiter.running, 0);
});
