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

interface QueryLike {
  isPending: boolean;
  isError: boolean;
  error: unknown;
  data: unknown;
  dataUpdatedAt: number;
  refetch: () => unknown;
}

/** Loading or error state of one query; with `stale`, also the stale mark (else the page shows one for all). */
export function QueryState({ q, what, stale = true }: { q: QueryLike; what: string; stale?: boolean }) {
  if (q.isPending && !q.isError) return <p className="muted">Loading {what}…</p>;
  if (q.isError && q.data === undefined) return <ErrorNotice error={q.error} what={what} onRetry={() => void q.refetch()} />;
  if (q.isError && stale) return <StaleNotice updatedAt={q.dataUpdatedAt} error={q.error} />;
  return null;
}

/** One stale mark for several queries: the oldest data among those whose refresh failed. */
export function StaleOf({ queries }: { queries: QueryLike[] }) {
  const failed = queries.filter((q) => q.isError && q.data !== undefined);
  const first = failed[0];
  if (!first) return null;
  return <StaleNotice updatedAt={Math.min(...failed.map((q) => q.dataUpdatedAt))} error={first.error} />;
}
