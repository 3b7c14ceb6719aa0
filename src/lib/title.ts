/**
 * A session's title: what lists, Slack and webhooks show instead of its folder. By default the
 * first line of its first prompt (leading blank lines skipped), cut to DERIVED_TITLE_CHARS; a
 * user may set one up to TITLE_MAX_CHARS (the column's CHECK allows that much).
 */
export const TITLE_MAX_CHARS = 200;
export const DERIVED_TITLE_CHARS = 120;

/** The title a prompt gives, or null for a blank one. */
export function titleFromPrompt(prompt: string | undefined | null): string | null {
  if (!prompt) return null;
  const line = prompt.trimStart().split('\n', 1)[0]!.trim();
  if (!line) return null;
  // Cut on a code point boundary: a lone surrogate half is not storable text.
  const chars = Array.from(line);
  return chars.length > DERIVED_TITLE_CHARS ? `${chars.slice(0, DERIVED_TITLE_CHARS - 1).join('')}…` : line;
}
