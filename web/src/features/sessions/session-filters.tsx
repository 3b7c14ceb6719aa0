import { useEffect, useState } from 'react';
import { PROJECT_TYPES, SESSION_STATUSES } from '../../api/types.ts';
import type { SessionFilters } from '../live/apply-event.ts';

/** Status and project type apply at once; the search box after a short pause in typing. */
export function SessionFiltersBar({ value, onChange }: { value: SessionFilters; onChange: (f: SessionFilters) => void }) {
  const [text, setText] = useState(value.q ?? '');
  useEffect(() => {
    if (text.trim() === (value.q ?? '')) return;
    const t = setTimeout(() => onChange({ ...value, q: text.trim() || undefined }), 250);
    return () => clearTimeout(t);
  }, [text, value, onChange]);
  return (
    <form className="filters" role="search" onSubmit={(e) => { e.preventDefault(); onChange({ ...value, q: text.trim() || undefined }); }}>
      <label>
        <span>Search</span>
        <input type="search" name="q" placeholder="Title, project path or metadata" value={text} onChange={(e) => setText(e.target.value)} />
      </label>
      <label>
        <span>Status</span>
        <select name="status" value={value.status ?? ''} onChange={(e) => onChange({ ...value, status: e.target.value || undefined })}>
          <option value="">Any</option>
          {SESSION_STATUSES.map((s) => <option key={s} value={s}>{s}</option>)}
        </select>
      </label>
      <label>
        <span>Project type</span>
        <select name="project_type" value={value.project_type ?? ''} onChange={(e) => onChange({ ...value, project_type: e.target.value || undefined })}>
          <option value="">Any</option>
          {PROJECT_TYPES.map((s) => <option key={s} value={s}>{s}</option>)}
        </select>
      </label>
    </form>
  );
}
