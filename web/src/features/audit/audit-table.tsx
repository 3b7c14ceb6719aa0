import type { AuditEntry } from '../../api/types.ts';
import { formatTime } from '../../components/format.ts';
import { Link } from '../../routes/router.tsx';

/** session:<uuid> links to the session page; other targets are plain text. */
function Target({ target }: { target: string | null }) {
  if (!target) return <span className="muted">–</span>;
  const m = /^session:([0-9a-fA-F-]{36})$/.exec(target);
  return m?.[1] ? <Link to={`/sessions/${m[1]}`}>{target}</Link> : <span>{target}</span>;
}

export function AuditTable({ entries, hasMore, loadingMore, onLoadMore }: { entries: AuditEntry[]; hasMore: boolean; loadingMore: boolean; onLoadMore: () => void }) {
  return (
    <>
      <div className="table-scroll">
        <table className="audit" data-testid="audit">
          <thead>
            <tr>
              <th scope="col">Time</th>
              <th scope="col">Actor</th>
              <th scope="col">Action</th>
              <th scope="col">Target</th>
              <th scope="col">Address</th>
              <th scope="col">Details</th>
            </tr>
          </thead>
          <tbody>
            {entries.map((e) => (
              <tr key={e.id} data-audit-id={e.id}>
                <td><time dateTime={e.at}>{formatTime(e.at)}</time></td>
                <td>{e.actor} <span className="tag">{e.actor_role}</span></td>
                <td><code>{e.action}</code></td>
                <td className="target"><Target target={e.target} /></td>
                <td>{e.address ?? '–'}</td>
                <td className="detail">
                  <code>{Object.keys(e.detail).length ? JSON.stringify(e.detail) : ''}</code>
                  {e.request_id && <span className="muted request-id" title="Request id (x-request-id; also in the server log)">{e.request_id}</span>}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <div className="load-more">
        {hasMore ? (
          <button type="button" onClick={onLoadMore} disabled={loadingMore}>{loadingMore ? 'Loading…' : 'Load more'}</button>
        ) : entries.length > 0 ? <span className="muted">End of log · {entries.length} {entries.length === 1 ? 'entry' : 'entries'}</span> : null}
      </div>
    </>
  );
}
