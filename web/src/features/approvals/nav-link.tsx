import { Link } from '../../routes/router.tsx';
import { usePendingApprovals } from './use-approvals.ts';

/** "Approvals" in the top bar, with how many requests wait (live: approval events refetch it). */
export function ApprovalsNavLink() {
  const q = usePendingApprovals();
  const n = q.data?.data.length ?? 0;
  const more = q.data?.next_cursor ? '+' : '';
  return (
    <Link to="/approvals" className="nav-approvals">
      Approvals
      {n > 0 && <span className="nav-count" data-testid="pending-count" aria-label={`, ${n}${more} waiting`}>{n}{more}</span>}
    </Link>
  );
}
