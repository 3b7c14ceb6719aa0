/**
 * Full-text search over session_messages and command_logs (issue 16).
 *
 * Matching uses the stored search vectors and GIN indexes of migration 0016. Rows the indexer has
 * not reached yet (0018: no vector) are checked by computing theirs on the spot, newest first and at
 * most PENDING_EXAMINED per table, so what was just stored is found at once. To keep a query's cost
 * bounded whatever the word, each table contributes at most CANDIDATES matching rows
 * (ranked by ts_rank); a session's rank is that of its best match. For a rare word this is
 * every match; for a word in most rows (the planner then reads rows in table order and
 * stops early) the ranking is among the first CANDIDATES matches of each table.
 * The tsquery is written inline (not in a CTE) so the planner folds it to a constant and
 * estimates its selectivity from the index statistics. ts_headline, which re-parses the whole document, runs only for the page's rows.
 */
import { sql } from 'kysely';
import { documentVector, type IndexedTable } from './search-index.ts';
import { hasSessionConditions, sessionWhere, tsQuery, type SessionFilter } from './session-filter.ts';
import type { Executor, SessionRow } from './sessions.ts';

export const CANDIDATES = 400;
/** Rows read per table to find the candidates when the index cannot check the whole query (phrases, -words). */
export const EXAMINED = 2000;
/**
 * Rows without a vector checked per table (newest first). Each costs a search ~45 µs (its vector is
 * computed on the spot), so 200 per table add ~20-35 ms at most (bench:search-pending). The indexer keeps
 * far fewer waiting at ordinary rates; after a burst larger than this, older waiting rows are found
 * once indexed (seconds; cco_search_index_pending).
 */
export const PENDING_EXAMINED = 200;

export type HitKind = 'message' | 'log';

export interface SearchHitRow extends SessionRow {
  hit_kind: HitKind;
  hit_id: string;
  rank: number;
  hits: string;
}

export interface SearchQuery {
  text: string;
  filter: SessionFilter;
  limit: number;
  offset: number;
}

/** Sessions matching the text (and the filter), best first; `limit` rows from `offset`. */
export async function searchSessions(db: Executor, q: SearchQuery): Promise<SearchHitRow[]> {
  const tq = tsQuery(q.text);
  const scoped = hasSessionConditions(q.filter);
  const inScope = (col: string) => (scoped ? sql`and ${sql.ref(col)} in (select s.id from sessions s where ${sessionWhere(q.filter, 's')})` : sql``);
  // A phrase or a -word can't be answered by the index alone: rows with all the (positive) words are
  // read and checked one by one. That read is capped at EXAMINED rows per table, so a phrase of common
  // words that occurs nowhere costs a bounded scan instead of the whole table.
  const relaxed = sql`(querytree(${tq}) = 'T' or ${sql.ref('x.search')} @@ regexp_replace(querytree(${tq}), '<[0-9]+>|<->', '&', 'g')::tsquery)`;
  const table = (name: IndexedTable) => sql.table(name);
  // Rows with a stored vector, through the GIN index.
  const indexed = (name: IndexedTable, kind: HitKind) => sql`
      (select h.session_id, ${kind}::text as kind, h.id, ts_rank(h.search, ${tq}) as r
         from (select x.session_id, x.id, x.search from ${table(name)} x
                where ${relaxed} ${inScope('x.session_id')} limit ${EXAMINED}) h
        where h.search @@ ${tq}
        limit ${CANDIDATES})`;
  // Rows the indexer has not reached: their vector computed here, newest first.
  const pending = (name: IndexedTable, kind: HitKind) => sql`
      (select h.session_id, ${kind}::text as kind, h.id, ts_rank(h.v, ${tq}) as r
         from (select x.session_id, x.id, ${documentVector(name, 'x')} as v from ${table(name)} x
                where x.search is null ${inScope('x.session_id')} order by x.id desc limit ${PENDING_EXAMINED}) h
        where h.v @@ ${tq}
        limit ${CANDIDATES})`;
  const r = await sql<SearchHitRow>`
    with hits as (
      ${indexed('session_messages', 'message')}
      union all ${pending('session_messages', 'message')}
      union all ${indexed('command_logs', 'log')}
      union all ${pending('command_logs', 'log')}
    ),
    best as (
      select distinct on (session_id) session_id, kind, id, r, count(*) over (partition by session_id) as n
        from hits order by session_id, r desc, id
    )
    select s.*, best.kind as hit_kind, best.id as hit_id, best.r as rank, best.n as hits
      from best join sessions s on s.id = best.session_id
     order by best.r desc, best.n desc, s.updated_at desc, s.id desc
     limit ${q.limit} offset ${q.offset}`.execute(db);
  return r.rows;
}

export interface Headline {
  kind: HitKind;
  id: string;
  headline: string;
}

/** Start and end of a highlighted word in ts_headline's output; neither can occur in stored text (see below). */
export const MARK_START = '\u0001';
export const MARK_END = '\u0002';
// One fragment around the best cover (MaxFragments > 0 doubled the cost in bench:search).
const OPTIONS = `StartSel=${MARK_START}, StopSel=${MARK_END}, MaxWords=30, MinWords=12`;

/** Highlighted excerpts of the given messages and logs. Control characters \x01 \x02 are removed from the text first. */
export async function headlines(db: Executor, text: string, messageIds: string[], logIds: string[]): Promise<Headline[]> {
  if (!messageIds.length && !logIds.length) return [];
  const tq = tsQuery(text);
  const clean = (doc: ReturnType<typeof sql>) => sql`translate(${doc}, ${MARK_START + MARK_END}, '')`;
  const r = await sql<Headline>`
    select 'message' as kind, m.id, ts_headline('simple'::regconfig, ${clean(sql`cco_message_doc(m.content)`)}, ${tq}, ${OPTIONS}) as headline
      from session_messages m where m.id = any(${messageIds}::bigint[])
    union all
    select 'log' as kind, l.id, ts_headline('simple'::regconfig, ${clean(sql`cco_log_doc(l.input, l.result)`)}, ${tq}, ${OPTIONS}) as headline
      from command_logs l where l.id = any(${logIds}::bigint[])`.execute(db);
  return r.rows;
}
