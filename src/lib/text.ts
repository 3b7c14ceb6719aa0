/**
 * The one rule for text the API receives. PostgreSQL's text and jsonb cannot hold
 * U+0000, and jsonb refuses an unpaired UTF-16 surrogate ("\ud800" alone is not
 * Unicode; pg would silently turn it into U+FFFD in a text column). So:
 *
 * - text the server stores (contents, prompts, metadata keys and values, run options,
 *   hook payloads, paths reported by hooks) keeps its content with each such character
 *   replaced by U+FFFD, and the stored row says so (src/db/text.ts does this for every
 *   write, whatever its origin);
 * - identifiers and filters (path parameters, query parameters, Claude Code session
 *   ids, tool_use_id, project_path, repo_url, ref, base_repo) are refused with 400
 *   `invalid_text`: a replaced id would silently name something else.
 */
import { z } from 'zod';

// eslint-disable-next-line no-control-regex -- finding U+0000 is the point
const BAD_TEXT = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const BAD_TEXT_ALL = new RegExp(BAD_TEXT.source, 'g');
/** JSON.stringify writes U+0000 and lone surrogates as \u escapes (paired ones stay raw): a cheap pre-check. */
const MAYBE_BAD_JSON = /\\u(?:0000|d[89a-f])/i;

export const REPLACEMENT = '\uFFFD';
/** The zod issue message for identifiers; the error handler maps it to the code `invalid_text`. */
export const BAD_TEXT_MESSAGE = 'must not contain NUL (U+0000) or unpaired UTF-16 surrogates';

export const hasBadText = (s: string): boolean => BAD_TEXT.test(s);

export const replaceBadText = (s: string): string => s.replace(BAD_TEXT_ALL, REPLACEMENT);

/** A string used as an identifier or a filter: bad text is refused, never replaced. */
export const identifierText = () => z.string().refine((s) => !hasBadText(s), BAD_TEXT_MESSAGE);

/**
 * Returns `value` with every string (object keys too) made storable, and whether
 * anything changed. Values without bad text are returned as they are.
 */
export function storableJson(value: unknown): { value: unknown; replaced: boolean } {
  if (value === null || typeof value !== 'object') {
    return typeof value === 'string' && hasBadText(value) ? { value: replaceBadText(value), replaced: true } : { value, replaced: false };
  }
  if (!MAYBE_BAD_JSON.test(JSON.stringify(value) ?? '')) return { value, replaced: false };
  // The pre-check also matches a literal backslash-u in the text; only a real change counts.
  const seen = { replaced: false };
  const out = replaceDeep(value, seen);
  return seen.replaced ? { value: out, replaced: true } : { value, replaced: false };
}

function replaceDeep(v: unknown, seen: { replaced: boolean }): unknown {
  if (typeof v === 'string') {
    if (!hasBadText(v)) return v;
    seen.replaced = true;
    return replaceBadText(v);
  }
  if (v === null || typeof v !== 'object') return v;
  if (Array.isArray(v)) return v.map((x) => replaceDeep(x, seen));
  if (typeof (v as { toJSON?: unknown }).toJSON === 'function') return v; // Dates: no free text
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) out[replaceDeep(k, seen) as string] = replaceDeep(x, seen);
  return out;
}

/** Deepest object/array nesting a request body may have (the body itself is level 1). */
export const JSON_MAX_DEPTH = 64;

/** Iterative, so a body nested 10,000 levels deep is measured without recursion. */
export function jsonDepthExceeds(value: unknown, max: number): boolean {
  const stack: Array<{ v: object; depth: number }> = [];
  if (value !== null && typeof value === 'object') stack.push({ v: value, depth: 1 });
  while (stack.length > 0) {
    const { v, depth } = stack.pop() as { v: object; depth: number };
    if (depth > max) return true;
    for (const child of Object.values(v)) {
      if (child !== null && typeof child === 'object') stack.push({ v: child as object, depth: depth + 1 });
    }
  }
  return false;
}
