import { useCallback } from 'react';
import { QueryState } from '../components/notices.tsx';
import { canCreate } from '../features/auth/access.ts';
import { useMe } from '../features/auth/auth.tsx';
import type { SessionFilters } from '../features/live/apply-event.ts';
import { ExportButton } from '../features/sessions/export-button.tsx';
import { SessionFiltersBar } from '../features/sessions/session-filters.tsx';
import { SessionTable } from '../features/sessions/session-table.tsx';
import { useSessions } from '../features/sessions/use-sessions.ts';
import { Link, navigate, useLocation } from './router.tsx';

/** Filter -> URL parameter (project_type was `type` before the other filters came). */
const URL_KEYS: [keyof SessionFilters, string][] = [
  ['q', 'q'], ['status', 'status'], ['project_type', 'type'], ['contains', 'contains'], ['owner', 'owner'], ['source', 'source'], ['tool', 'tool'],
  ['created_from', 'created_from'], ['created_to', 'created_to'], ['updated_from', 'updated_from'], ['updated_to', 'updated_to'],
];

export function SessionsPage() {
  const { search } = useLocation();
  const filters: SessionFilters = Object.fromEntries(URL_KEYS.map(([k, u]) => [k, search.get(u) ?? undefined]));
  const setFilters = useCallback((f: SessionFilters) => {
    const p = new URLSearchParams();
    for (const [k, u] of URL_KEYS) if (f[k]) p.set(u, f[k]);
    const s = p.toString();
    navigate(s ? `/?${s}` : '/', { replace: true });
  }, []);
  const { q, sessions } = useSessions(filters);
  const me = useMe();
  const filtered = Object.values(filters).some(Boolean);
  return (
    <main className="page">
      <div className="page-head">
        <h1>Sessions</h1>
        <div className="page-actions">
          <ExportButton filters={filters} />
          {canCreate(me) && <Link to="/new" className="button primary">New session</Link>}
        </div>
      </div>
      <SessionFiltersBar value={filters} onChange={setFilters} showOwner={me.auth === 'keys' && (me.role === 'admin' || me.role === 'viewer')} />
      <QueryState q={q} what="sessions" />
      {q.data && sessions.length === 0 && <p className="empty">{filtered ? 'No session matches these filters.' : canCreate(me) ? 'No sessions yet. Start one with “New session”.' : 'No sessions yet.'}</p>}
      {sessions.length > 0 && (
        <SessionTable sessions={sessions} showOwner={me.auth === 'keys'} hasMore={q.hasNextPage} loadingMore={q.isFetchingNextPage} onLoadMore={() => void q.fetchNextPage()} />
      )}
      {q.isFetchNextPageError && <p className="notice error" role="alert">Loading more failed: {String((q.error as Error).message)}</p>}
    </main>
  );
}
