import { useCallback } from 'react';
import { QueryState } from '../components/notices.tsx';
import { canCreate } from '../features/auth/access.ts';
import { useMe } from '../features/auth/auth.tsx';
import type { SessionFilters } from '../features/live/apply-event.ts';
import { SessionFiltersBar } from '../features/sessions/session-filters.tsx';
import { SessionTable } from '../features/sessions/session-table.tsx';
import { useSessions } from '../features/sessions/use-sessions.ts';
import { Link, navigate, useLocation } from './router.tsx';

export function SessionsPage() {
  const { search } = useLocation();
  const filters: SessionFilters = {
    status: search.get('status') ?? undefined,
    project_type: search.get('type') ?? undefined,
    q: search.get('q') ?? undefined,
  };
  const setFilters = useCallback((f: SessionFilters) => {
    const p = new URLSearchParams();
    if (f.status) p.set('status', f.status);
    if (f.project_type) p.set('type', f.project_type);
    if (f.q) p.set('q', f.q);
    const s = p.toString();
    navigate(s ? `/?${s}` : '/', { replace: true });
  }, []);
  const { q, sessions } = useSessions(filters);
  const me = useMe();
  const filtered = Boolean(filters.status || filters.project_type || filters.q);
  return (
    <main className="page">
      <div className="page-head">
        <h1>Sessions</h1>
        {canCreate(me) && <Link to="/new" className="button primary">New session</Link>}
      </div>
      <SessionFiltersBar value={filters} onChange={setFilters} />
      <QueryState q={q} what="sessions" />
      {q.data && sessions.length === 0 && <p className="empty">{filtered ? 'No session matches these filters.' : canCreate(me) ? 'No sessions yet. Start one with “New session”.' : 'No sessions yet.'}</p>}
      {sessions.length > 0 && (
        <SessionTable sessions={sessions} showOwner={me.auth === 'keys'} hasMore={q.hasNextPage} loadingMore={q.isFetchingNextPage} onLoadMore={() => void q.fetchNextPage()} />
      )}
      {q.isFetchNextPageError && <p className="notice error" role="alert">Loading more failed: {String((q.error as Error).message)}</p>}
    </main>
  );
}
