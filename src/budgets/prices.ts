/**
 * A running estimate of what a turn has cost so far, from the token usage Claude Code reports with
 * each assistant message. Claude Code's own total (the result's total_cost_usd) arrives only when
 * the turn ends, and its --max-turns is not a spending limit; budgets must stop a turn while it runs.
 * The estimate uses list prices per million tokens; the recorded cost of a finished turn is still
 * Claude Code's own figure.
 */

interface Price {
  input: number;
  output: number;
}

/** USD per million tokens; the first pattern that matches the model id wins. */
const PRICES: [RegExp, Price][] = [
  [/opus-4-[5-9]|opus-[5-9]/, { input: 5, output: 25 }],
  [/opus/, { input: 15, output: 75 }],
  [/haiku-4|haiku-[5-9]/, { input: 1, output: 5 }],
  [/haiku/, { input: 0.8, output: 4 }],
  [/sonnet/, { input: 3, output: 15 }],
];
/** Unknown models (a proxy's own names): priced as Sonnet, the usual default. */
const DEFAULT_PRICE: Price = { input: 3, output: 15 };

export interface Usage {
  input_tokens?: number | null | undefined;
  output_tokens?: number | null | undefined;
  cache_creation_input_tokens?: number | null | undefined;
  cache_read_input_tokens?: number | null | undefined;
}

export function priceOf(model: string | undefined): Price {
  const m = (model ?? '').toLowerCase();
  return PRICES.find(([re]) => re.test(m))?.[1] ?? DEFAULT_PRICE;
}

/** What one model response cost: cache writes at 1.25x and cache reads at 0.1x the input price. */
export function estimateCostUsd(model: string | undefined, u: Usage): number {
  const p = priceOf(model);
  const n = (v: number | null | undefined) => (typeof v === 'number' && v > 0 ? v : 0);
  const input = n(u.input_tokens) + 1.25 * n(u.cache_creation_input_tokens) + 0.1 * n(u.cache_read_input_tokens);
  return (input * p.input + n(u.output_tokens) * p.output) / 1_000_000;
}

/**
 * Sums the estimate over a turn's responses. Claude Code sends one assistant message per content
 * block, each carrying its response's usage, so responses are counted once by id (the largest usage
 * seen wins: streamed output counts grow).
 */
export class CostEstimate {
  readonly #byResponse = new Map<string, number>();
  #total = 0;

  get totalUsd(): number {
    return this.#total;
  }

  add(responseId: string | undefined, model: string | undefined, usage: Usage | undefined): number {
    if (!usage) return this.#total;
    const cost = estimateCostUsd(model, usage);
    const key = responseId ?? `anon-${this.#byResponse.size}`;
    const before = this.#byResponse.get(key) ?? 0;
    if (cost > before) {
      this.#byResponse.set(key, cost);
      this.#total += cost - before;
    }
    return this.#total;
  }
}
