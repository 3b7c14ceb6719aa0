import type { SearchHit } from '../../api/types.ts';

/** A search snippet: plain text with the matched words in <mark>, built as React text (never HTML from the server). */
export function Snippet({ hit }: { hit: SearchHit }) {
  const s = hit.snippet;
  if (!s) return null;
  const parts: (string | { mark: string })[] = [];
  let at = 0;
  for (const [a, b] of s.highlights) {
    if (a < at || b > s.text.length || a >= b) continue;
    if (a > at) parts.push(s.text.slice(at, a));
    parts.push({ mark: s.text.slice(a, b) });
    at = b;
  }
  if (at < s.text.length) parts.push(s.text.slice(at));
  return (
    <p className="snippet" data-testid="snippet">
      <span className="tag">{s.kind === 'log' ? 'tool' : 'message'}</span>{' '}
      {parts.map((p, i) => (typeof p === 'string' ? <span key={i}>{p}</span> : <mark key={i}>{p.mark}</mark>))}
    </p>
  );
}
