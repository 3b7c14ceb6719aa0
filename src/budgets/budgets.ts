/**
 * Budgets: the most a session may spend (its budget_usd; a scheduled run's comes from its template
 * or BUDGET_SCHEDULE_RUN_USD) and the most an owner's turns may spend per UTC day
 * (BUDGET_OWNER_DAY_USD). The orchestrator enforces them itself: before a turn starts (over budget:
 * it does not start), while it runs (the runner stops it when the running estimate passes what is
 * left; for the owner's day, counting the owner's other running turns: running-spend.ts) and when a
 * request would start one (409 budget_reached).
 */
import type { Database } from '../db/database.ts';
import { ownerSpentSince, setTurnCostEstimate } from '../db/queries/budgets.ts';
import type { Clock } from '../lib/clock.ts';
import type { Session } from '../sessions/types.ts';

export interface BudgetsConfig {
  /** BUDGET_OWNER_DAY_USD: per owner per UTC day; undefined: no limit. */
  ownerDayUsd?: number | undefined;
  /** BUDGET_SCHEDULE_RUN_USD: a scheduled run's budget when its template gives none. */
  scheduleRunUsd?: number | undefined;
}

/** The budget that binds: which one, its limit and what was spent against it. */
export interface BudgetState {
  kind: 'session' | 'owner_day';
  limitUsd: number;
  spentUsd: number;
}

const dayStart = (d: Date) => new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()));
const usd = (n: number) => `$${n.toFixed(4)}`;

export class Budgets {
  constructor(private readonly deps: { database: Database; clock: Clock; config: BudgetsConfig }) {}

  get config(): BudgetsConfig {
    return this.deps.config;
  }

  /** What the owner's turns cost today (UTC): those that ended today, and so far those still running. */
  ownerSpentToday(owner: string): Promise<number> {
    return ownerSpentSince(this.deps.database.db, owner, dayStart(this.deps.clock.now()));
  }

  /** Stores a running turn's cost so far, which ownerSpentToday counts (src/budgets/running-spend.ts). */
  recordRunning(turnId: number, usd: number): Promise<void> {
    return setTurnCostEstimate(this.deps.database.db, turnId, usd);
  }

  /** Each budget that applies to the session, with what was spent against it. */
  async states(s: Pick<Session, 'owner' | 'budget_usd' | 'totals'>): Promise<BudgetState[]> {
    const out: BudgetState[] = [];
    if (s.budget_usd !== null) out.push({ kind: 'session', limitUsd: s.budget_usd, spentUsd: s.totals.cost_usd });
    const daily = this.deps.config.ownerDayUsd;
    if (daily !== undefined && s.owner) out.push({ kind: 'owner_day', limitUsd: daily, spentUsd: await this.ownerSpentToday(s.owner) });
    return out;
  }

  /** The first budget already used up, or undefined. */
  async exceeded(s: Pick<Session, 'owner' | 'budget_usd' | 'totals'>): Promise<BudgetState | undefined> {
    return (await this.states(s)).find((b) => b.spentUsd >= b.limitUsd);
  }

  /** The budget with the least left (what a running turn may still spend), or undefined. */
  async tightest(s: Pick<Session, 'owner' | 'budget_usd' | 'totals'>): Promise<BudgetState | undefined> {
    const all = await this.states(s);
    return all.sort((a, b) => a.limitUsd - a.spentUsd - (b.limitUsd - b.spentUsd))[0];
  }

  /** The owner's daily budget is used up (a new session would not run). */
  async ownerDayExceeded(owner: string): Promise<BudgetState | undefined> {
    const daily = this.deps.config.ownerDayUsd;
    if (daily === undefined) return undefined;
    const spent = await this.ownerSpentToday(owner);
    return spent >= daily ? { kind: 'owner_day', limitUsd: daily, spentUsd: spent } : undefined;
  }
}

/** The sentence told in the conversation and in 409 answers. */
export function describeBudget(b: BudgetState, owner: string | null): string {
  if (b.kind === 'session') {
    return `Budget reached: this session spent ${usd(b.spentUsd)} of its ${usd(b.limitUsd)} budget (budget_usd). It is paused; raise budget_usd (PATCH /api/sessions/:id) to continue.`;
  }
  return `Budget reached: ${owner ?? 'the owner'} spent ${usd(b.spentUsd)} today (UTC) of the ${usd(b.limitUsd)} daily budget per owner (BUDGET_OWNER_DAY_USD). The session is paused; it can continue tomorrow (set status active) or when an admin raises the setting.`;
}
