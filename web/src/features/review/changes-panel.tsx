/** What changed: the whole session's diff, or one turn's (picked here or from the timeline). */
import { ApiError } from '../../api/client.ts';
import type { Session, Turn } from '../../api/types.ts';
import { QueryState } from '../../components/notices.tsx';
import { DiffViewer } from './diff-viewer.tsx';
import { useDiff } from './use-review.ts';

/** Answers that mean "nothing to show" rather than a failure. */
const EXPLAINED: Record<string, string> = {
  no_workspace: 'This session has no workspace record (it is recorded only): there is no diff to show.',
  turn_diff_unavailable: 'No snapshot was recorded for this turn (not a git repository, not ended, or the scan failed).',
  turn_snapshot_gone: "This turn's snapshot was pruned by git; the whole session's diff is still available.",
  workspace_gone: 'The workspace was cleaned up: its diff is gone.',
  workspace_preparing: 'The workspace is still being prepared.',
};

export function ChangesPanel({ session, turns, turn, onPick }: { session: Session; turns: Turn[]; turn: number | undefined; onPick: (turn: number | undefined) => void }) {
  const diff = useDiff(session, turn);
  const explained = diff.error instanceof ApiError ? EXPLAINED[diff.error.code] : undefined;
  const withChanges = turns.map((t, i) => ({ t, n: i + 1 })).filter(({ t }) => t.changes !== null);
  return (
    <div data-testid="changes">
      <label className="diff-pick">
        Show{' '}
        <select value={turn ?? ''} onChange={(e) => onPick(e.target.value ? Number(e.target.value) : undefined)} aria-label="Changes of">
          <option value="">the whole session</option>
          {withChanges.map(({ t, n }) => <option key={t.id} value={t.id}>turn {n}: {t.prompt.trimStart().split('\n', 1)[0]?.slice(0, 60)}</option>)}
        </select>
      </label>
      {explained ? <p className="muted" data-testid="diff-unavailable">{explained}</p> : <QueryState q={diff} what="the diff" stale={false} />}
      {diff.data && !diff.isError && <DiffViewer diff={diff.data.diff} truncated={diff.data.truncated} />}
    </div>
  );
}
