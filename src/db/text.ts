/**
 * The database side of the text rule (src/lib/text.ts): every row a query function
 * writes passes through storableRow, so no text reaches PostgreSQL with U+0000 or an
 * unpaired surrogate, whichever route, hook or runner it came from. The row keeps its
 * content (each such character becomes U+FFFD) and records the replacement in its
 * own JSON column, so a reader can tell the stored text is not byte for byte what was sent.
 */
import { storableJson } from '../lib/text.ts';

/** The flag set in a row's metadata (`text_replaced`) or in a session event's data (`_text_replaced`). */
export const TEXT_REPLACED = 'text_replaced';

/**
 * Returns the row with every string field and every JSON field made storable. When
 * something was replaced and `flag` is given, `flag.key: true` is set in the JSON
 * field `flag.in` (made if absent).
 */
export function storableRow<T extends object>(row: T, flag?: { in: keyof T & string; key?: string }): T {
  let replaced = false;
  const out: Record<string, unknown> = { ...(row as Record<string, unknown>) };
  for (const [k, v] of Object.entries(row)) {
    if (v === null || v === undefined || typeof v === 'number' || typeof v === 'boolean' || v instanceof Date) continue;
    const r = storableJson(v);
    if (r.replaced) {
      replaced = true;
      out[k] = r.value;
    }
  }
  if (!replaced) return row;
  if (flag) {
    const current = out[flag.in];
    const base = current !== null && typeof current === 'object' && !Array.isArray(current) ? current : {};
    out[flag.in] = { ...base, [flag.key ?? TEXT_REPLACED]: true };
  }
  return out as T;
}
