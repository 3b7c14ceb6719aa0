import type { SessionPolicy } from '../../api/approval-types.ts';
import { ruleText } from './format.ts';

const MODE_TEXT = { replace: 'replaces the server policy', narrow: 'narrows the server policy' } as const;

/** The session's approval policy, folded: mode, default and rules in order (the first match wins). */
export function PolicyDetails({ policy }: { policy: SessionPolicy | null | undefined }) {
  if (!policy) return <p className="muted policy-none" data-testid="policy">Approval policy: the server’s.</p>;
  const p = policy.policy;
  const rules = p.rules ?? [];
  return (
    <details className="policy" data-testid="policy">
      <summary>Approval policy: {MODE_TEXT[policy.mode] ?? policy.mode} · default {p.default} · {rules.length} {rules.length === 1 ? 'rule' : 'rules'}</summary>
      {rules.length > 0 && (
        <ol className="policy-rules">
          {rules.map((r, i) => <li key={i}><code>{ruleText(r)}</code> → <strong>{r.action}</strong></li>)}
        </ol>
      )}
      <p className="muted">
        Anything else: {p.default}.{p.approvers?.length ? ` Approvers: ${p.approvers.join(', ')}.` : ''}
        {` Unanswered after ${p.timeout_s ? `${p.timeout_s} s` : 'the server’s timeout'}: ${p.timeout_action ?? 'deny'}.`}
      </p>
    </details>
  );
}
