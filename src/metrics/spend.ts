/**
 * Splits a turn's spend by model. Claude Code reports modelUsage (tokens and cost per model) as a
 * running total of its session, carried across resumes (shared/reference/claude-code.md §4.2), so
 * a turn's share is the total now less the total after the same session's previous turn. That
 * previous total is remembered here when the previous turn ran in this process; otherwise (the
 * first turn this process sees of a resumed session) the turn's exact cost, known from the turn
 * row, is split in the proportions of the running totals: an estimate, exact with one model.
 */

export interface ModelUsageEntry {
  inputTokens?: number;
  outputTokens?: number;
  cacheReadInputTokens?: number;
  cacheCreationInputTokens?: number;
  costUSD?: number;
}

export type ModelUsageMap = Record<string, ModelUsageEntry>;

export interface ModelShare {
  model: string;
  costUsd: number;
  tokens: { input: number; output: number; cache_read: number; cache_creation: number };
}

/** Claude Code sessions whose last running total is remembered (the oldest are forgotten first). */
const MAX_SESSIONS = 10_000;
/** Distinct model labels at most; later new names count as `other` (a label must stay a small set). */
export const MAX_MODELS = 50;
const MODEL_NAME = /^[A-Za-z0-9][A-Za-z0-9._:@\-[\]/]{0,99}$/;

const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) && v > 0 ? v : 0);

function totalsOf(u: ModelUsageEntry): ModelShare['tokens'] & { cost: number } {
  return { input: num(u.inputTokens), output: num(u.outputTokens), cache_read: num(u.cacheReadInputTokens), cache_creation: num(u.cacheCreationInputTokens), cost: num(u.costUSD) };
}

export class ModelSpend {
  readonly #last = new Map<string, ModelUsageMap>();
  readonly #models = new Set<string>();

  /** The model label for a name: itself while the set of names is small, else `other`. */
  label(model: string): string {
    if (!MODEL_NAME.test(model)) return 'other';
    if (this.#models.has(model)) return model;
    if (this.#models.size >= MAX_MODELS) return 'other';
    this.#models.add(model);
    return model;
  }

  shares(claudeSessionId: string | null, turnCost: number | null, cumulativeCost: number | null, usage: ModelUsageMap | undefined): ModelShare[] {
    if (!usage || Object.keys(usage).length === 0) {
      // A cost without a breakdown (older Claude Code): the model is unknown.
      return turnCost && turnCost > 0 ? [{ model: 'unknown', costUsd: turnCost, tokens: { input: 0, output: 0, cache_read: 0, cache_creation: 0 } }] : [];
    }
    const previous = claudeSessionId ? this.#last.get(claudeSessionId) : undefined;
    if (claudeSessionId) {
      this.#last.delete(claudeSessionId);
      this.#last.set(claudeSessionId, usage);
      if (this.#last.size > MAX_SESSIONS) this.#last.delete(this.#last.keys().next().value as string);
    }
    // No earlier spend in this Claude session: the running totals are this turn's own.
    const fresh = !cumulativeCost || turnCost === null || Math.abs(cumulativeCost - turnCost) < 1e-12;
    const fraction = previous || fresh ? 1 : Math.max(0, Math.min(1, turnCost / cumulativeCost));
    const out: ModelShare[] = [];
    for (const [model, u] of Object.entries(usage)) {
      const now = totalsOf(u);
      const before = previous?.[model] ? totalsOf(previous[model]) : undefined;
      // A total that went down (a /clear resets it) starts again from zero.
      const delta = (k: keyof ReturnType<typeof totalsOf>) => (before ? (now[k] >= before[k] ? now[k] - before[k] : now[k]) : now[k] * fraction);
      out.push({
        model: this.label(model),
        costUsd: delta('cost'),
        tokens: { input: Math.round(delta('input')), output: Math.round(delta('output')), cache_read: Math.round(delta('cache_read')), cache_creation: Math.round(delta('cache_creation')) },
      });
    }
    return out;
  }
}
