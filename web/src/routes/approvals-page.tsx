import { ApiError } from '../api/client.ts';
import { ErrorNotice } from '../components/notices.tsx';
import { ApprovalCard } from '../features/approvals/approval-card.tsx';
import { PENDING_LIMIT, useDecidedApprovals, useKeptApprovals, usePendingApprovals } from '../features/approvals/use-approvals.ts';
import { Link, useLocation } from './router.tsx';

const TABS = [{ id: 'pending', label: 'Pending' }, { id: 'decided', label: 'Decided' }] as const;

function Pending() {
  const q = usePendingApprovals();
  const items = useKeptApprovals(q.data?.data);
  const waiting = items.filter((i) => !i.gone).length;
  return (
    <>
      {q.isPending && !q.isError && <p className="muted">Loading approval requests…</p>}
      {q.isError && <ErrorNotice error={q.error} what="approval requests" onRetry={() => void q.refetch()} />}
      {q.data && waiting === 0 && <p className="empty" data-testid="approvals-empty">Nothing waits for approval.</p>}
      {q.data?.next_cursor && <p className="muted">Showing the newest {PENDING_LIMIT}.</p>}
      <div className="approval-list" data-testid="approvals">
        {items.map(({ approval, gone }) => <ApprovalCard key={approval.id} approval={approval} gone={gone} />)}
      </div>
    </>
  );
}

function Decided() {
  const { q, items } = useDecidedApprovals();
  return (
    <>
      {q.isPending && !q.isError && <p className="muted">Loading decided requests…</p>}
      {q.isError && !q.isFetchNextPageError && <ErrorNotice error={q.error} what="decided requests" onRetry={() => void q.refetch()} />}
      {q.data && items.length === 0 && <p className="empty">No decided requests yet.</p>}
      <div className="approval-list" data-testid="approvals">
        {items.map((a) => <ApprovalCard key={a.id} approval={a} />)}
      </div>
      {q.hasNextPage && (
        <div className="load-more">
          <button type="button" onClick={() => void q.fetchNextPage()} disabled={q.isFetchingNextPage}>{q.isFetchingNextPage ? 'Loading…' : 'Load more'}</button>
        </div>
      )}
    </>
  );
}

/** Tool calls waiting for a person, across the sessions the caller may see (GET /api/approvals). */
export function ApprovalsPage() {
  const { search } = useLocation();
  const tab = search.get('tab') === 'decided' ? 'decided' : 'pending';
  const pending = usePendingApprovals();
  const denied = pending.error instanceof ApiError && pending.error.status === 403;
  const count = pending.data?.data.length;
  return (
    <main className="page narrow approvals-page">
      <div className="page-head">
        <h1>Approvals</h1>
      </div>
      <nav className="approval-tabs" aria-label="Approval requests">
        {TABS.map((t) => (
          <Link key={t.id} to={t.id === 'pending' ? '/approvals' : '/approvals?tab=decided'} aria-current={tab === t.id ? 'page' : undefined}>
            {t.label}{t.id === 'pending' && count ? <span className="count"> {count}{pending.data?.next_cursor ? '+' : ''}</span> : null}
          </Link>
        ))}
      </nav>
      {denied ? <p className="notice error" role="alert">This key may not see approval requests.</p> : tab === 'pending' ? <Pending /> : <Decided />}
    </main>
  );
}
