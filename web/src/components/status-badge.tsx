import type { Session } from '../api/types.ts';

/** Status, plus the turn state while the session is active (running, queued #n, idle). */
export function StatusBadge({ session }: { session: Pick<Session, 'status' | 'turn_state' | 'queue_position'> }) {
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
    </span>
  );
}
