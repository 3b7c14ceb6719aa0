import { useEffect, useState } from 'react';
import { PROJECT_TYPES, SESSION_STATUSES } from '../../api/types.ts';
import type { SessionFilters } from '../live/apply-event.ts';

type TextKey = 'q' | 'contains' | 'source' | 'tool' | 'owner';

/** A text filter applied after a short pause in typing (or at once on Enter). */
function TextFilter({ label, name, value, onChange, placeholder, type = 'text' }: { label: string; name: TextKey; value: string | undefined; onChange: (v: string | undefined) => void; placeholder?: string; type?: string }) {
  const [text, setText] = useState(value ?? '');
  useEffect(() => {
    if (text.trim() === (value ?? '')) return;
    const t = setTimeout(() => onChange(text.trim() || undefined), 250);
    return () => clearTimeout(t);
  }, [text, value, onChange]);
  return (
    <label className={`filter-${name}`}>
      <span>{label}</span>
      <input type={type} name={name} placeholder={placeholder} value={text} onChange={(e) => setText(e.target.value)}
        onKeyDown={(e) => { if (e.key === 'Enter') onChange(text.trim() || undefined); }} />
    </label>
  );
}

function DateFilter({ label, name, value, onChange }: { label: string; name: string; value: string | undefined; onChange: (v: string | undefined) => void }) {
  return (
    <label>
      <span>{label}</span>
      <input type="date" name={name} value={value ?? ''} onChange={(e) => onChange(e.target.value || undefined)} />
    </label>
  );
}

/**
 * The list's filters. The search box is full-text over messages and tool logs (results come
 * best match first, with the matching words highlighted); "Title, path or metadata" is the old
 * substring filter. Owner is offered to those who see every session.
 */
export function SessionFiltersBar({ value, onChange, showOwner = false }: { value: SessionFilters; onChange: (f: SessionFilters) => void; showOwner?: boolean }) {
  const set = (k: keyof SessionFilters) => (v: string | undefined) => onChange({ ...value, [k]: v });
  const [more, setMore] = useState(() => Boolean(value.contains || value.source || value.tool || value.owner || value.created_from || value.created_to || value.updated_from || value.updated_to));
  return (
    <form className="filters" role="search" onSubmit={(e) => e.preventDefault()}>
      <TextFilter label="Search" name="q" type="search" value={value.q} onChange={set('q')} placeholder='Words in messages and tool logs, "a phrase", -word' />
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
      <button type="button" className="link more-filters" aria-expanded={more} onClick={() => setMore(!more)}>{more ? 'Fewer filters' : 'More filters'}</button>
      {more && (
        <div className="filters-more">
          <TextFilter label="Title, path or metadata" name="contains" value={value.contains} onChange={set('contains')} />
          <TextFilter label="Source" name="source" value={value.source} onChange={set('source')} placeholder="api, slack, cli…" />
          <TextFilter label="Tool used" name="tool" value={value.tool} onChange={set('tool')} placeholder="Bash, Edit…" />
          {showOwner && <TextFilter label="Owner" name="owner" value={value.owner} onChange={set('owner')} placeholder="key name" />}
          <DateFilter label="Created from" name="created_from" value={value.created_from} onChange={set('created_from')} />
          <DateFilter label="Created to" name="created_to" value={value.created_to} onChange={set('created_to')} />
          <DateFilter label="Active from" name="updated_from" value={value.updated_from} onChange={set('updated_from')} />
          <DateFilter label="Active to" name="updated_to" value={value.updated_to} onChange={set('updated_to')} />
        </div>
      )}
    </form>
  );
}
