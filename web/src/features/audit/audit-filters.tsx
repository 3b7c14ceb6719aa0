import { useState, type FormEvent } from 'react';
import { AUDIT_ACTIONS } from '../../api/types.ts';
import type { AuditFilters } from './use-audit.ts';

/** datetime-local text (local time, no zone) <-> ISO time. */
const toLocalInput = (iso: string | undefined) => {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  return new Date(d.getTime() - d.getTimezoneOffset() * 60_000).toISOString().slice(0, 16);
};
const fromLocalInput = (v: string) => (v ? new Date(v).toISOString() : undefined);

/** Text filters are exact matches, so they apply on submit rather than while typing. */
export function AuditFiltersBar({ value, onChange }: { value: AuditFilters; onChange: (f: AuditFilters) => void }) {
  const [actor, setActor] = useState(value.actor ?? '');
  const [target, setTarget] = useState(value.target ?? '');
  const [from, setFrom] = useState(toLocalInput(value.from));
  const [to, setTo] = useState(toLocalInput(value.to));
  const submit = (e: FormEvent) => {
    e.preventDefault();
    onChange({ ...value, actor: actor.trim() || undefined, target: target.trim() || undefined, from: fromLocalInput(from), to: fromLocalInput(to) });
  };
  return (
    <form className="filters audit-filters" role="search" onSubmit={submit}>
      <label>
        <span>Actor</span>
        <input name="actor" placeholder="Key name, anonymous" value={actor} onChange={(e) => setActor(e.target.value)} />
      </label>
      <label>
        <span>Action</span>
        <select name="action" value={value.action ?? ''} onChange={(e) => onChange({ ...value, action: e.target.value || undefined })}>
          <option value="">Any</option>
          {AUDIT_ACTIONS.map((a) => <option key={a} value={a}>{a}</option>)}
        </select>
      </label>
      <label>
        <span>Target</span>
        <input name="target" placeholder="session:<id>, key:<id>" value={target} onChange={(e) => setTarget(e.target.value)} />
      </label>
      <label>
        <span>From</span>
        <input type="datetime-local" name="from" value={from} onChange={(e) => setFrom(e.target.value)} />
      </label>
      <label>
        <span>To</span>
        <input type="datetime-local" name="to" value={to} onChange={(e) => setTo(e.target.value)} />
      </label>
      <div className="filter-actions">
        <button type="submit">Apply</button>
      </div>
    </form>
  );
}
