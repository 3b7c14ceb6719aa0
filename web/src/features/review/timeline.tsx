/**
 * The session as a timeline: a list of typed entries, drawn by kind. Today every entry is a turn
 * (prompt, duration, cost, tools, outcome, files changed); other kinds (an approval asked and
 * decided, ...) join by adding a member to TimelineEntry, a case to EntryView and their entries
 * to the list given in (they are sorted by `at`).
 */
import type { Turn } from '../../api/types.ts';
import { formatDuration, formatTime } from '../../components/format.ts';

export type TimelineEntry = { kind: 'turn'; at: string; turn: Turn; number: number };

export function turnEntries(turns: Turn[]): TimelineEntry[] {
  return turns.map((turn, i) => ({ kind: 'turn', at: turn.created_at, turn, number: i + 1 }));
}

export function Timeline({ entries, onShowDiff, recordOnly }: { entries: TimelineEntry[]; onShowDiff: (turnId: number) => void; recordOnly: boolean }) {
  if (entries.length === 0) {
    return <p className="empty" data-testid="timeline-empty">{recordOnly ? 'This session is recorded, not run by the orchestrator: it has no turns. Its prompts are in the conversation.' : 'No turns yet.'}</p>;
  }
  const sorted = [...entries].sort((a, b) => a.at.localeCompare(b.at));
  return (
    <ol className="turns" aria-label="Turns" data-testid="timeline">
      {sorted.map((e) => <EntryView key={`${e.kind}:${entryKey(e)}`} entry={e} onShowDiff={onShowDiff} />)}
    </ol>
  );
}

function entryKey(e: TimelineEntry): string | number {
  switch (e.kind) {
    case 'turn':
      return e.turn.id;
    default: {
      const never: never = e.kind;
      return never;
    }
  }
}

function EntryView({ entry, onShowDiff }: { entry: TimelineEntry; onShowDiff: (turnId: number) => void }) {
  switch (entry.kind) {
    case 'turn':
      return <TurnView turn={entry.turn} number={entry.number} onShowDiff={onShowDiff} />;
    default: {
      const never: never = entry.kind;
      return never;
    }
  }
}

const OUTCOME: Record<Turn['status'], string> = {
  queued: 'queued', running: 'running', completed: 'done', error: 'failed', interrupted: 'interrupted', timed_out: 'timed out', cancelled: 'cancelled',
};

function TurnView({ turn, number, onShowDiff }: { turn: Turn; number: number; onShowDiff: (turnId: number) => void }) {
  const line = turn.prompt.trimStart().split('\n', 1)[0] ?? '';
  const duration = turn.duration_ms ?? (turn.started_at && turn.ended_at ? Date.parse(turn.ended_at) - Date.parse(turn.started_at) : null);
  const c = turn.changes;
  return (
    <li className={`turn ${turn.status}`} data-testid="turn" data-turn={turn.id}>
      <div className="turn-head">
        <span className={`dot ${turn.status === 'completed' ? 'completed' : turn.status === 'running' || turn.status === 'queued' ? 'running' : 'error'}`} aria-hidden="true" />
        <strong>Turn {number}</strong>
        <span className="turn-outcome">{OUTCOME[turn.status]}</span>
        <time className="muted" dateTime={turn.created_at}>{formatTime(turn.created_at)}</time>
      </div>
      <p className="turn-prompt" title={turn.prompt}>{line || '(empty prompt)'}</p>
      <p className="turn-facts muted">
        {formatDuration(duration)} · {turn.cost_usd === null ? '–' : `$${turn.cost_usd.toFixed(4)}`}
        {' · '}
        {turn.tools.length ? turn.tools.map((t) => (t.count > 1 ? `${t.name} ×${t.count}` : t.name)).join(', ') : 'no tools'}
      </p>
      {turn.error && turn.status !== 'completed' && <p className="turn-error">{turn.error}</p>}
      {c && (
        <p className="turn-files">
          {c.files_changed} file{c.files_changed === 1 ? '' : 's'} changed · <span className="plus">+{c.lines_added}</span> <span className="minus">−{c.lines_removed}</span>{' '}
          <button type="button" className="link" onClick={() => onShowDiff(turn.id)}>View changes</button>
        </p>
      )}
    </li>
  );
}
