import type { Session } from '../api/types.ts';

/** Status, plus the turn state while the session is active (running, queued #n, idle), and tool calls waiting for approval. */
export function StatusBadge({ session }: { session: Pick<Session, 'status' | 'turn_state' | 'queue_position' | 'pending_approvals'> }) {
  const turn = session.status === 'active' ? session.turn_state : undefined;
  const turnLabel = turn === 'queued' && session.queue_position != null ? `queued #${session.queue_position}` : turn;
  return (
    <span className="badges">
      <span className={`badge status-${session.status}`} data-testid="status">
        {session.status}
      </span>
      {turn && turn !== 'idle' && (
        <span className={`badge turn-${turn}`} data-testid="turn-state">
          {turnLabel}
        </span>
      )}
      {session.pending_approvals ? (
        <span className="badge approval-waiting" data-testid="approval-waiting" title="Tool calls waiting for a person's decision (Approvals)">
          {session.pending_approvals} awaiting approval
        </span>
      ) : null}
    </span>
  );
}
