/**
 * Full-text search of sessions by what was said and what tools did (issue 16): ranked
 * sessions, each with a highlighted excerpt of its best match. Pages are an offset into
 * the ranked list (a rank is a float4 that does not round-trip as a keyset position);
 * the list is bounded (see CANDIDATES in src/db/queries/search.ts), so deep offsets cost
 * the same as the first page.
 */
import type { Database } from '../db/database.ts';
import { CANDIDATES, headlines, MARK_END, MARK_START, searchSessions, type HitKind } from '../db/queries/search.ts';
import type { SessionFilter } from '../db/queries/session-filter.ts';
import { decodeCursor, encodeCursor } from '../lib/cursor.ts';
import { toSession } from './mappers.ts';
import type { Page, Session } from './types.ts';

export interface Snippet {
  kind: HitKind;
  /** The message or log id (GET /api/sessions/:id/messages/:item_id or .../logs/:item_id). */
  item_id: number;
  /** Plain text (never HTML); `highlights` are [start, end) offsets of the matched words in it, in UTF-16 code units. */
  text: string;
  highlights: [number, number][];
}

export interface SearchHit {
  /** ts_rank of the best match (higher is better). */
  rank: number;
  /** Matching messages and logs among the candidates looked at. */
  hits: number;
  snippet: Snippet | null;
}

export type SessionWithHit = Session & { search: SearchHit };

const isOffset = (v: unknown): v is { o: number } =>
  typeof v === 'object' && v !== null && Number.isSafeInteger((v as { o: unknown }).o) && (v as { o: number }).o > 0 && (v as { o: number }).o < 2 * CANDIDATES;

/** Splits ts_headline's output at the markers into plain text and highlight ranges. */
export function parseHeadline(marked: string): { text: string; highlights: [number, number][] } {
  let text = '';
  const highlights: [number, number][] = [];
  let start = -1;
  for (const ch of marked) {
    if (ch === MARK_START) start = text.length;
    else if (ch === MARK_END) {
      if (start >= 0 && text.length > start) highlights.push([start, text.length]);
      start = -1;
    } else text += ch;
  }
  return { text, highlights };
}

export class SessionSearch {
  constructor(private readonly database: Database) {}

  async search(text: string, filter: SessionFilter, limit: number, cursor?: string): Promise<Page<SessionWithHit>> {
    const offset = cursor ? decodeCursor(cursor, isOffset).o : 0;
    const db = this.database.db;
    const rows = await searchSessions(db, { text, filter, limit: limit + 1, offset });
    const page = rows.slice(0, limit);
    const lines = await headlines(
      db,
      text,
      page.filter((r) => r.hit_kind === 'message').map((r) => String(r.hit_id)),
      page.filter((r) => r.hit_kind === 'log').map((r) => String(r.hit_id)),
    );
    const byKey = new Map(lines.map((h) => [`${h.kind}:${h.id}`, h.headline]));
    const data = page.map((r): SessionWithHit => {
      const marked = byKey.get(`${r.hit_kind}:${r.hit_id}`);
      return {
        ...toSession(r),
        search: {
          rank: Number(r.rank),
          hits: Number(r.hits),
          snippet: marked === undefined ? null : { kind: r.hit_kind, item_id: Number(r.hit_id), ...parseHeadline(marked) },
        },
      };
    });
    return { data, next_cursor: rows.length > limit ? encodeCursor({ o: offset + limit }) : null };
  }
}
