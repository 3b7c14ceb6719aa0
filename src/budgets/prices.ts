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
  // Claude Code's own price for it, read from its results: 72,861 input and 213 output tokens
  // were reported as $0.295704 (costBasis "list"), which is $4 and $20 per million.
  [/opus-5-5/, { input: 4, output: 20 }],
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

/** A token count as reported (absent, null or negative: none). */
const n = (v: number | null | undefined) => (typeof v === 'number' && v > 0 ? v : 0);

export function priceOf(model: string | undefined): Price {
  const m = (model ?? '').toLowerCase();
  return PRICES.find(([re]) => re.test(m))?.[1] ?? DEFAULT_PRICE;
}

/** What one model response cost: cache writes at 1.25x and cache reads at 0.1x the input price. */
export function estimateCostUsd(model: string | undefined, u: Usage): number {
  const p = priceOf(model);
  const input = n(u.input_tokens) + 1.25 * n(u.cache_creation_input_tokens) + 0.1 * n(u.cache_read_input_tokens);
  return (input * p.input + n(u.output_tokens) * p.output) / 1_000_000;
}

/** Characters per output token assumed when the usage does not count the output yet (English and code run 3-4). */
const CHARS_PER_TOKEN = 4;

/** What a response wrote, in characters: its text, its thinking and its tool calls' input. */
export function contentChars(blocks: unknown): number {
  if (!Array.isArray(blocks)) return 0;
  let chars = 0;
  for (const b of blocks as Record<string, unknown>[]) {
    if (typeof b?.text === 'string') chars += b.text.length;
    if (typeof b?.thinking === 'string') chars += b.thinking.length;
    if (b?.type === 'tool_use') chars += String(b.name ?? '').length + JSON.stringify(b.input ?? {}).length;
  }
  return chars;
}

interface Seen {
  input: number;
  output: number;
  cacheWrite: number;
  cacheRead: number;
  chars: number;
  usd: number;
}

/**
 * Sums the estimate over a turn's responses. Claude Code sends one assistant message per content
 * block, each carrying its response's usage, so responses are counted once by id (the largest count
 * of each kind wins). That usage is the one the response started with: its output count is 1 until
 * the result, which alone has the real one. So the output is counted as at least what the response's
 * blocks hold, at CHARS_PER_TOKEN: a floor, not the count (a SCRIPT:multi turn's blocks hold 312
 * characters, 78 tokens at this rate, where the scripted model server reported 213).
 */
export class CostEstimate {
  readonly #byResponse = new Map<string, Seen>();
  #total = 0;

  get totalUsd(): number {
    return this.#total;
  }

  /** `chars`: what this message's blocks hold (contentChars); a response's messages add up. */
  add(responseId: string | undefined, model: string | undefined, usage: Usage | undefined, chars = 0): number {
    if (!usage) return this.#total;
    const key = responseId ?? `anon-${this.#byResponse.size}`;
    const was = this.#byResponse.get(key) ?? { input: 0, output: 0, cacheWrite: 0, cacheRead: 0, chars: 0, usd: 0 };
    const now: Seen = {
      input: Math.max(was.input, n(usage.input_tokens)),
      output: Math.max(was.output, n(usage.output_tokens)),
      cacheWrite: Math.max(was.cacheWrite, n(usage.cache_creation_input_tokens)),
      cacheRead: Math.max(was.cacheRead, n(usage.cache_read_input_tokens)),
      chars: was.chars + chars,
      usd: 0,
    };
    now.usd = estimateCostUsd(model, {
      input_tokens: now.input,
      output_tokens: Math.max(now.output, Math.ceil(now.chars / CHARS_PER_TOKEN)),
      cache_creation_input_tokens: now.cacheWrite,
      cache_read_input_tokens: now.cacheRead,
    });
    this.#byResponse.set(key, now);
    this.#total += now.usd - was.usd;
    return this.#total;
  }
}
