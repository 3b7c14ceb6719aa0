/**
 * The running estimate of a turn's cost (src/budgets/prices.ts) against what Claude Code itself
 * reports: a budget stops turns by the estimate, so one priced too high stops them early and one
 * priced too low lets them pass the budget.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { contentChars, CostEstimate, estimateCostUsd, priceOf } from '../src/budgets/prices.ts';

test("Claude Code's default model is priced as Claude Code prices it", () => {
  // A SCRIPT:multi turn against the scripted model server, as Claude Code's result reported it:
  // modelUsage {"claude-opus-5-5": {inputTokens: 72861, outputTokens: 213, costUSD: 0.295704}}.
  const usd = estimateCostUsd('claude-opus-5-5', { input_tokens: 72_861, output_tokens: 213 });
  assert.ok(Math.abs(usd - 0.295704) < 1e-9, `estimated ${usd}`);
  assert.deepEqual(priceOf('claude-opus-5'), { input: 5, output: 25 });
  assert.deepEqual(priceOf('some-proxy-model'), { input: 3, output: 15 });
});

test('a response is counted once, with the largest count of each kind it was seen with', () => {
  const c = new CostEstimate();
  c.add('msg_1', 'claude-sonnet-4-5', { input_tokens: 1_000_000, output_tokens: 1 });
  c.add('msg_1', 'claude-sonnet-4-5', { input_tokens: 1_000_000, output_tokens: 1 });
  assert.ok(Math.abs(c.totalUsd - 3.000015) < 1e-9, `total ${c.totalUsd}`);
  c.add('msg_2', 'claude-sonnet-4-5', { cache_read_input_tokens: 1_000_000 });
  assert.ok(Math.abs(c.totalUsd - 3.300015) < 1e-9, `total ${c.totalUsd}`);
});

test("the output is counted as at least what the response's blocks hold, while its usage still says 1", () => {
  const c = new CostEstimate();
  const text = [{ type: 'text', text: 'x'.repeat(4_000) }];
  const call = [{ type: 'tool_use', id: 'toolu_1', name: 'Bash', input: { command: 'y'.repeat(3_982) } }];
  assert.equal(contentChars(text), 4_000);
  assert.equal(contentChars(call), 4 + JSON.stringify({ command: 'y'.repeat(3_982) }).length);
  // One response sent as two messages (one per block), each with the usage it started with.
  c.add('msg_1', 'claude-opus-5-5', { input_tokens: 0, output_tokens: 1 }, contentChars(text));
  assert.ok(Math.abs(c.totalUsd - (1_000 * 20) / 1e6) < 1e-9, `one block: ${c.totalUsd}`);
  c.add('msg_1', 'claude-opus-5-5', { input_tokens: 0, output_tokens: 1 }, contentChars(call));
  assert.ok(Math.abs(c.totalUsd - (2_000 * 20) / 1e6) < 1e-9, `both blocks: ${c.totalUsd}`);
  // A usage that counts more output than the blocks suggest wins.
  c.add('msg_1', 'claude-opus-5-5', { input_tokens: 0, output_tokens: 5_000 });
  assert.ok(Math.abs(c.totalUsd - (5_000 * 20) / 1e6) < 1e-9, `counted output: ${c.totalUsd}`);
  assert.equal(contentChars(undefined), 0);
});
