import { useState } from 'react';
import { errorText } from '../../api/client.ts';
import type { Session } from '../../api/types.ts';
import { useSetStatus } from './use-session.ts';

/** Pause, resume and close (close asks once more: completed is final). */
export function SessionActions({ session }: { session: Session }) {
  const set = useSetStatus(session.id);
  const [confirming, setConfirming] = useState(false);
  const busy = set.isPending;
  return (
    <div className="actions" role="group" aria-label="Session actions">
      {session.status === 'active' && (
        <button type="button" onClick={() => set.mutate('paused')} disabled={busy}>Pause</button>
      )}
      {(session.status === 'paused' || session.status === 'error') && (
        <button type="button" onClick={() => set.mutate('active')} disabled={busy}>Resume</button>
      )}
      {session.status !== 'completed' && !confirming && (
        <button type="button" onClick={() => setConfirming(true)} disabled={busy}>Close</button>
      )}
      {confirming && (
        <>
          <button type="button" className="danger" autoFocus onClick={() => { setConfirming(false); set.mutate('completed'); }}>Close for good</button>
          <button type="button" onClick={() => setConfirming(false)}>Keep open</button>
        </>
      )}
      {set.isError && <span className="notice error inline" role="alert">{errorText(set.error)}</span>}
    </div>
  );
}
