/** Wording for approval requests: rules, times ahead, outcomes. */
import type { Approval, DecidedDetails, Rule } from '../../api/approval-types.ts';

/** `Bash · command "touch *"`: what a rule matches, in one line. */
export function ruleText(rule: Partial<Rule> | Record<string, unknown> | null): string {
  if (!rule) return 'the policy default';
  const parts = [String(rule.tool ?? '*')];
  for (const k of ['command', 'path', 'workspace'] as const) if (typeof rule[k] === 'string') parts.push(`${k} "${String(rule[k])}"`);
  return parts.join(' · ');
}

/** "in 5 min", "in 23 h", or "overdue". */
export function untilTime(iso: string, now = Date.now()): string {
  const s = Math.round((Date.parse(iso) - now) / 1000);
  if (s <= 0) return 'overdue';
  if (s < 60) return `in ${s} s`;
  if (s < 3600) return `in ${Math.floor(s / 60)} min`;
  if (s < 86_400) return `in ${Math.floor(s / 3600)} h`;
  return `in ${Math.floor(s / 86_400)} d`;
}

const VERB: Record<string, string> = { allowed: 'Allowed', denied: 'Denied', expired: 'Expired' };

/** "Allowed by alice via dashboard": who decided, from the request or a 409's details. */
export function outcomeText(d: Pick<Approval, 'status' | 'decided_by' | 'decided_via'> | DecidedDetails): string {
  const verb = VERB[d.status] ?? d.status;
  if (d.status === 'expired' || d.decided_via === 'timeout') return `${verb}: nobody decided in time`;
  return `${verb} by ${d.decided_by ?? 'someone'}${d.decided_via ? ` via ${d.decided_via}` : ''}`;
}
