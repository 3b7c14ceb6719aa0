/**
 * The database side of the text rules: every row a query function writes passes through
 * storableRow, whichever route, hook or runner it came from, so
 * - secrets are replaced by `[redacted]` (src/lib/redact.ts) in every field but identifiers;
 * - no text reaches PostgreSQL with U+0000 or an unpaired surrogate (src/lib/text.ts). The row
 *   keeps its content (each such character becomes U+FFFD) and records the replacement in its
 *   own JSON column, so a reader can tell the stored text is not byte for byte what was sent.
 */
import { defaultRedactor, type Redactor } from '../lib/redact.ts';
import { storableJson } from '../lib/text.ts';

/**
 * Which values are secret is a property of the process (its environment and settings), not of a
 * query: the composition root installs the configured redactor once (createCore), and every query
 * function keeps taking only its executor. Until then, the built-in patterns apply.
 */
let redactor: Redactor = defaultRedactor;

export function useRedactor(r: Redactor): void {
  redactor = r;
}

/** The installed redactor on one value, for text that is cut before it is stored (a cut secret would no longer match). */
export function redactForStorage<T>(value: T): T {
  return redactor.deep(value);
}

/** Columns that name things (ids, paths): a redacted one would silently point elsewhere. */
const IDENTIFIERS = new Set(['id', 'session_id', 'claude_session_id', 'claudeSessionId', 'tool_use_id', 'project_path', 'projectPath', 'event_key', 'owner']);

/** The flag set in a row's metadata (`text_replaced`) or in a session event's data (`_text_replaced`). */
export const TEXT_REPLACED = 'text_replaced';

/**
 * Returns the row with secrets redacted and every string field and every JSON field made storable. When
 * something was replaced and `flag` is given, `flag.key: true` is set in the JSON
 * field `flag.in` (made if absent).
 */
export function storableRow<T extends object>(row: T, flag?: { in: keyof T & string; key?: string }): T {
  let replaced = false;
  let redacted = false;
  const out: Record<string, unknown> = { ...(row as Record<string, unknown>) };
  for (const [k, v] of Object.entries(row)) {
    if (v === null || v === undefined || typeof v === 'number' || typeof v === 'boolean' || v instanceof Date) continue;
    const clean = IDENTIFIERS.has(k) ? v : redactor.deep(v);
    if (clean !== v) {
      redacted = true;
      out[k] = clean;
    }
    const r = storableJson(clean);
    if (r.replaced) {
      replaced = true;
      out[k] = r.value;
    }
  }
  if (!replaced) return redacted ? (out as T) : row;
  if (flag) {
    const current = out[flag.in];
    const base = current !== null && typeof current === 'object' && !Array.isArray(current) ? current : {};
    out[flag.in] = { ...base, [flag.key ?? TEXT_REPLACED]: true };
  }
  return out as T;
}
