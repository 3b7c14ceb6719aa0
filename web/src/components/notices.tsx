/** How failures and stale data show: never swallowed, always next to what they affect. */
import { errorText } from '../api/client.ts';
import { formatTime } from './format.ts';

export function ErrorNotice({ error, onRetry, what }: { error: unknown; onRetry?: () => void; what: string }) {
  return (
    <div className="notice error" role="alert">
      <span>
        Could not load {what}: {errorText(error)}
      </span>
      {onRetry && (
        <button type="button" onClick={onRetry}>
          Retry
        </button>
      )}
    </div>
  );
}

/** Shown over data whose last refresh failed: it is still displayed, marked as possibly out of date. */
export function StaleNotice({ updatedAt, error }: { updatedAt: number; error: unknown }) {
  return (
    <div className="notice stale" role="status" data-testid="stale">
      Stale: showing data from {formatTime(new Date(updatedAt).toISOString())}; refreshing failed ({errorText(error)}).
    </div>
  );
}

/** Loading, error or stale state of one query, in one place. */
export function QueryState({ q, what }: { q: { isPending: boolean; isError: boolean; error: unknown; data: unknown; dataUpdatedAt: number; refetch: () => unknown }; what: string }) {
  if (q.isPending && !q.isError) return <p className="muted">Loading {what}…</p>;
  if (q.isError && q.data === undefined) return <ErrorNotice error={q.error} what={what} onRetry={() => void q.refetch()} />;
  if (q.isError) return <StaleNotice updatedAt={q.dataUpdatedAt} error={q.error} />;
  return null;
}
