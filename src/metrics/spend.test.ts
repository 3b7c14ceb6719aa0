import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MAX_MODELS, ModelSpend } from './spend.ts';

const usage = (cost: number, input: number, output: number) => ({ costUSD: cost, inputTokens: input, outputTokens: output, cacheReadInputTokens: 0, cacheCreationInputTokens: 0 });
const close = (a: number, b: number) => assert.ok(Math.abs(a - b) < 1e-12, `${a} vs ${b}`);

test('the first turn of a Claude session takes its running totals as they are', () => {
  const s = new ModelSpend().shares('c1', 0.3, 0.3, { opus: usage(0.2, 100, 10), haiku: usage(0.1, 50, 5) });
  assert.deepEqual(s.map((x) => [x.model, x.tokens.input, x.tokens.output]), [['opus', 100, 10], ['haiku', 50, 5]]);
  close(s[0]!.costUsd + s[1]!.costUsd, 0.3);
});

test('a later turn seen by the same process: the growth of each model since the previous turn', () => {
  const spend = new ModelSpend();
  spend.shares('c1', 0.3, 0.3, { opus: usage(0.2, 100, 10), haiku: usage(0.1, 50, 5) });
  const s = spend.shares('c1', 0.25, 0.55, { opus: usage(0.4, 300, 30), haiku: usage(0.15, 60, 6) });
  close(s.find((x) => x.model === 'opus')!.costUsd, 0.2);
  close(s.find((x) => x.model === 'haiku')!.costUsd, 0.05);
  assert.equal(s.find((x) => x.model === 'opus')!.tokens.input, 200);
  assert.equal(s.find((x) => x.model === 'haiku')!.tokens.output, 1);
});

test('a resumed session this process has not seen: the exact turn cost split in the running totals\' proportions', () => {
  const s = new ModelSpend().shares('c2', 0.1, 0.4, { opus: usage(0.3, 300, 30), haiku: usage(0.1, 100, 10) });
  close(s.find((x) => x.model === 'opus')!.costUsd, 0.075);
  close(s.find((x) => x.model === 'haiku')!.costUsd, 0.025);
  assert.equal(s.find((x) => x.model === 'opus')!.tokens.input, 75);
});

test('a total that fell (a /clear) counts from zero; a cost without a breakdown is model unknown; nothing without either', () => {
  const spend = new ModelSpend();
  spend.shares('c3', 0.5, 0.5, { opus: usage(0.5, 500, 50) });
  close(spend.shares('c3', 0.1, 0.1, { opus: usage(0.1, 80, 8) })[0]!.costUsd, 0.1);
  assert.deepEqual(spend.shares('c4', 0.2, 0.2, undefined).map((x) => [x.model, x.costUsd]), [['unknown', 0.2]]);
  assert.deepEqual(spend.shares(null, null, null, undefined), []);
});

test('model labels stay a small set: odd names and names past the cap are other', () => {
  const spend = new ModelSpend();
  assert.equal(spend.label('bad name with spaces'), 'other');
  for (let i = 0; i < MAX_MODELS; i++) assert.equal(spend.label(`model-${i}`), `model-${i}`);
  assert.equal(spend.label('one-too-many'), 'other');
  assert.equal(spend.label('model-3'), 'model-3');
});
