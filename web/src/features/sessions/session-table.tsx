import { useEffect, useRef, useState } from 'react';
import type { Session } from '../../api/types.ts';
import { formatCost, formatTime, projectName, relativeTime } from '../../components/format.ts';
import { StatusBadge } from '../../components/status-badge.tsx';
import { Link } from '../../routes/router.tsx';
import { Snippet } from './snippet.tsx';

/** The sessions list; scrolling to its end loads the next page (the button does the same from the keyboard). */
export function SessionTable({ sessions, hasMore, loadingMore, onLoadMore, showOwner = false }: { sessions: Session[]; hasMore: boolean; loadingMore: boolean; onLoadMore: () => void; showOwner?: boolean }) {
  const sentinel = useRef<HTMLDivElement>(null);
  // "2 min ago" has to move on by itself while nothing else changes.
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), 30_000);
    return () => clearInterval(t);
  }, []);
  useEffect(() => {
    const el = sentinel.current;
    if (!el || !hasMore) return;
    const io = new IntersectionObserver((entries) => {
      if (entries.some((e) => e.isIntersecting) && !loadingMore) onLoadMore();
    }, { rootMargin: '400px' });
    io.observe(el);
    return () => io.disconnect();
  }, [hasMore, loadingMore, onLoadMore]);

  return (
    <>
      <table className="sessions" data-testid="sessions">
        <thead>
          <tr>
            <th scope="col">Status</th>
            <th scope="col">Project</th>
            <th scope="col">Source</th>
            <th scope="col">Last activity</th>
            <th scope="col" className="num">Cost</th>
          </tr>
        </thead>
        <tbody>
          {sessions.map((s) => (
            <tr key={s.id} data-session-id={s.id}>
              <td data-label="Status"><StatusBadge session={s} /></td>
              <td data-label="Project" className="project">
                <Link to={`/sessions/${s.id}`} title={s.title ?? s.project_path}>{s.title || projectName(s.project_path)}</Link>
                <span className="tag">{s.project_type}</span>
                <span className="muted path" title={s.project_path}>{s.project_path}</span>
                {s.search && <Snippet hit={s.search} />}
              </td>
              <td data-label="Source">{s.source}{showOwner && s.owner && <span className="muted owner"> · {s.owner}</span>}</td>
              <td data-label="Last activity"><time dateTime={s.updated_at} title={formatTime(s.updated_at)}>{relativeTime(s.updated_at, now)}</time></td>
              <td data-label="Cost" className="num">{formatCost(s.totals?.cost_usd)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <div ref={sentinel} className="load-more">
        {hasMore ? (
          <button type="button" onClick={onLoadMore} disabled={loadingMore}>{loadingMore ? 'Loading…' : 'Load more'}</button>
        ) : sessions.length > 0 ? <span className="muted">End of list · {sessions.length} {sessions.length === 1 ? 'session' : 'sessions'}</span> : null}
      </div>
    </>
  );
}
