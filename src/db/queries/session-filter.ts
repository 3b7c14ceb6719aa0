/**
 * The session filters shared by the list, the search and the export (issue 16): one
 * SQL condition over a sessions row, so the three select exactly the same sessions.
 */
import { sql, type RawBuilder } from 'kysely';
import { documentVector, type IndexedTable } from './search-index.ts';

export interface SessionFilter {
  status?: string | undefined;
  projectType?: string | undefined;
  /** Only this owner's sessions; undefined: every owner. */
  owner?: string | undefined;
  /** The caller's restriction (a user key: its own sessions), applied on top of `owner`. */
  visibleTo?: string | undefined;
  source?: string | undefined;
  createdFrom?: Date | undefined;
  createdTo?: Date | undefined;
  updatedFrom?: Date | undefined;
  updatedTo?: Date | undefined;
  /** Sessions with at least one command_logs row of this tool. */
  tool?: string | undefined;
  /** Case-insensitive substring of project_path or of the metadata's JSON text (the list's old `q`). */
  contains?: string | undefined;
  /** Sessions whose messages or tool logs match this full-text query (websearch syntax); the export's form of `q`. */
  text?: string | undefined;
  sessionId?: string | undefined;
}

/** LIKE treats % and _ as wildcards and backslash as the escape character; a search is literal text. */
export const escapeLike = (text: string) => text.replace(/[\\%_]/g, (c) => `\\${c}`);

/**
 * A message or log row matches the full-text query: by its stored vector (GIN-indexed, 0016), or,
 * when the indexer has not given it one yet (0018), by the vector computed on the spot.
 */
const rowMatches = (table: IndexedTable, alias: string, q: RawBuilder<unknown>) =>
  sql`(${sql.ref(`${alias}.search`)} @@ ${q} or (${sql.ref(`${alias}.search`)} is null and ${documentVector(table, alias)} @@ ${q}))`;
export const tsQuery = (text: string) => sql`websearch_to_tsquery('simple'::regconfig, ${text})`;

/** The filter as one boolean SQL expression over the sessions row named `alias` (true when empty). */
export function sessionWhere(f: SessionFilter, alias = 'sessions'): RawBuilder<boolean> {
  const c = (col: string) => sql.ref(`${alias}.${col}`);
  const parts: RawBuilder<unknown>[] = [];
  if (f.sessionId !== undefined) parts.push(sql`${c('id')} = ${f.sessionId}`);
  if (f.status) parts.push(sql`${c('status')} = ${f.status}`);
  if (f.projectType) parts.push(sql`${c('project_type')} = ${f.projectType}`);
  if (f.owner !== undefined) parts.push(sql`${c('owner')} = ${f.owner}`);
  if (f.visibleTo !== undefined) parts.push(sql`${c('owner')} = ${f.visibleTo}`);
  if (f.source) parts.push(sql`${c('source')} = ${f.source}`);
  if (f.createdFrom) parts.push(sql`${c('created_at')} >= ${f.createdFrom}`);
  if (f.createdTo) parts.push(sql`${c('created_at')} < ${f.createdTo}`);
  if (f.updatedFrom) parts.push(sql`${c('updated_at')} >= ${f.updatedFrom}`);
  if (f.updatedTo) parts.push(sql`${c('updated_at')} < ${f.updatedTo}`);
  if (f.tool) parts.push(sql`exists (select 1 from command_logs tl where tl.session_id = ${c('id')} and tl.tool = ${f.tool})`);
  if (f.contains) {
    const pattern = `%${escapeLike(f.contains)}%`;
    parts.push(sql`(${c('project_path')} ilike ${pattern} or ${c('title')} ilike ${pattern} or ${c('metadata')}::text ilike ${pattern})`);
  }
  if (f.text) {
    const q = tsQuery(f.text);
    parts.push(sql`(exists (select 1 from session_messages xm where xm.session_id = ${c('id')} and ${rowMatches('session_messages', 'xm', q)})
      or exists (select 1 from command_logs xl where xl.session_id = ${c('id')} and ${rowMatches('command_logs', 'xl', q)}))`);
  }
  return parts.length ? sql<boolean>`(${sql.join(parts, sql` and `)})` : sql<boolean>`true`;
}

/** True when the filter selects by anything (the search needs the session join only then). */
export const hasSessionConditions = (f: SessionFilter) => Object.values(f).some((v) => v !== undefined && v !== '');
