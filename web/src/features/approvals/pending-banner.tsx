import { ApprovalCard } from './approval-card.tsx';
import { useKeptApprovals, usePendingApprovals } from './use-approvals.ts';

/** On a session's page: its tool calls waiting for a person, with the buttons; nothing when none ever waited while open. */
export function PendingApprovalsBanner({ sessionId }: { sessionId: string }) {
  const q = usePendingApprovals(sessionId);
  const items = useKeptApprovals(q.data?.data);
  if (items.length === 0) return null;
  const waiting = items.filter((i) => !i.gone).length;
  return (
    <section className="approval-banner" aria-labelledby="h-approval-banner" data-testid="approval-banner">
      <h2 id="h-approval-banner">{waiting > 0 ? `Waiting for approval (${waiting})` : 'Approval requests'}</h2>
      {waiting > 0 && <p className="muted">Claude Code stopped before this call. The session goes on once someone decides.</p>}
      <div className="approval-list">
        {items.map(({ approval, gone }) => <ApprovalCard key={approval.id} approval={approval} gone={gone} showSession={false} />)}
      </div>
    </section>
  );
}
