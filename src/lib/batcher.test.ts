import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Batcher } from './batcher.ts';

test('a lone item is written at once; items arriving during a flush share the next one', async () => {
  const batches: number[][] = [];
  const singles: number[] = [];
  const b = new Batcher<number, number>(
    async (items) => {
      batches.push(items);
      await new Promise((r) => setTimeout(r, 5));
      return items.map((i) => i * 10);
    },
    async (item) => {
      singles.push(item);
      await new Promise((r) => setTimeout(r, 5));
      return item * 10;
    },
    3,
  );
  const results = await Promise.all([1, 2, 3, 4, 5, 6].map((i) => b.submit(i)));
  assert.deepEqual(results, [10, 20, 30, 40, 50, 60]);
  assert.deepEqual(singles, [1], 'the first item did not wait for company');
  assert.deepEqual(batches, [[2, 3, 4], [5, 6]], 'then at most maxBatch per flush, in order');
});

test('when a batch fails, each item is retried alone and only the bad one fails', async () => {
  const b = new Batcher<number, number>(
    async () => {
      throw new Error('batch failed');
    },
    async (item) => {
      if (item === 3) throw new Error('bad item');
      return item;
    },
  );
  const first = b.submit(1);
  const rest = [2, 3, 4].map((i) => b.submit(i).then((v) => ({ v }), (e: Error) => ({ e: e.message })));
  assert.equal(await first, 1);
  assert.deepEqual(await Promise.all(rest), [{ v: 2 }, { e: 'bad item' }, { v: 4 }]);
});
