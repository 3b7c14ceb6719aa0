import { useCallback } from 'react';
import { ApiError } from '../api/client.ts';
import { ErrorNotice } from '../components/notices.tsx';
import { AuditFiltersBar } from '../features/audit/audit-filters.tsx';
import { AuditTable } from '../features/audit/audit-table.tsx';
import { useAudit, type AuditFilters } from '../features/audit/use-audit.ts';
import { navigate, useLocation } from './router.tsx';

const FILTER_KEYS = ['actor', 'action', 'target', 'from', 'to'] as const;

/** Access answers get words of their own: "forbidden" alone does not say what to do. */
function AccessNotice({ status }: { status: number }) {
  return (
    <div className="notice error" role="alert" data-testid="audit-access">
      {status === 401
        ? 'Sign in with an admin key to see the audit log.'
        : 'The audit log is for admins: the key you signed in with does not have the admin role.'}
    </div>
  );
}

export function AuditPage() {
  const { search } = useLocation();
  const filters: AuditFilters = Object.fromEntries(FILTER_KEYS.map((k) => [k, search.get(k) ?? undefined]));
  const setFilters = useCallback((f: AuditFilters) => {
    const p = new URLSearchParams();
    for (const k of FILTER_KEYS) if (f[k]) p.set(k, f[k]);
    const s = p.toString();
    navigate(s ? `/audit?${s}` : '/audit', { replace: true });
  }, []);
  const { q, entries } = useAudit(filters);
  const denied = q.error instanceof ApiError && (q.error.status === 401 || q.error.status === 403) ? q.error.status : undefined;
  const filtered = FILTER_KEYS.some((k) => filters[k]);
  return (
    <main className="page">
      <div className="page-head">
        <h1>Audit log</h1>
      </div>
      {/* key: a URL change (back/forward) resets the form's text fields to it. */}
      <AuditFiltersBar key={search.toString()} value={filters} onChange={setFilters} />
      {q.isPending && !q.isError && <p className="muted">Loading the audit log…</p>}
      {denied !== undefined && <AccessNotice status={denied} />}
      {q.isError && denied === undefined && !q.isFetchNextPageError && <ErrorNotice error={q.error} what="the audit log" onRetry={() => void q.refetch()} />}
      {q.data && entries.length === 0 && <p className="empty">{filtered ? 'No entry matches these filters.' : 'No entries yet.'}</p>}
      {entries.length > 0 && <AuditTable entries={entries} hasMore={q.hasNextPage} loadingMore={q.isFetchingNextPage} onLoadMore={() => void q.fetchNextPage()} />}
      {q.isFetchNextPageError && <p className="notice error" role="alert">Loading more failed: {String((q.error as Error).message)}</p>}
    </main>
  );
}
