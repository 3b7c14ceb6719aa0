import { useState } from 'react';
import { exportUrl, type ExportChoice } from '../../api/queries.ts';
import type { SessionFilters } from '../live/apply-event.ts';

const CHOICES: [ExportChoice, string][] = [
  ['json', 'JSON (sessions, messages, logs)'],
  ['zip', 'ZIP of CSV files'],
  ['csv:sessions', 'CSV: sessions'],
  ['csv:messages', 'CSV: messages'],
  ['csv:logs', 'CSV: tool logs'],
];

/** Downloads what the current filters select; the server streams it (GET /api/export). */
export function ExportButton({ filters }: { filters: SessionFilters }) {
  const [choice, setChoice] = useState<ExportChoice>('json');
  return (
    <div className="export">
      <label>
        <span className="visually-hidden">Export format</span>
        <select name="export_format" value={choice} onChange={(e) => setChoice(e.target.value as ExportChoice)}>
          {CHOICES.map(([v, label]) => <option key={v} value={v}>{label}</option>)}
        </select>
      </label>
      <a className="button" href={exportUrl(filters, choice)} download data-testid="export">Export</a>
    </div>
  );
}
