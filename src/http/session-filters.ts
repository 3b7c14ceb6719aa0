/**
 * The query parameters that select sessions, shared by GET /api/sessions and
 * GET /api/export (issue 16), and their translation into a SessionFilter with
 * the caller's owner restriction applied.
 */
import { z } from 'zod';
import { ownerFilter, type Principal } from '../auth/principal.ts';
import type { SessionFilter } from '../db/queries/session-filter.ts';
import { badRequest } from '../lib/errors.ts';
import { PROJECT_TYPES, SESSION_STATUSES } from '../sessions/types.ts';

/** An ISO 8601 time, or a date (midnight UTC). */
const time = z.union([z.iso.datetime({ offset: true }), z.iso.date()]);

export const sessionFilterShape = {
  status: z.enum(SESSION_STATUSES).optional(),
  project_type: z.enum(PROJECT_TYPES).optional(),
  owner: z.string().min(1).max(255).optional().describe('Sessions of this owner (key name). A user key only ever sees its own.'),
  source: z.string().min(1).max(50).optional().describe('Where the session was started: api, slack, dashboard, cli, n8n, schedule, hook...'),
  tool: z.string().min(1).max(100).optional().describe('Sessions that ran this tool at least once (e.g. Bash).'),
  created_after: time.optional().describe('ISO 8601 time or date; created at or after it.'),
  created_before: time.optional().describe('ISO 8601 time or date; created before it.'),
  updated_after: time.optional().describe('ISO 8601 time or date; last activity at or after it.'),
  updated_before: time.optional().describe('ISO 8601 time or date; last activity before it.'),
  contains: z.string().max(200).optional().describe('Case-insensitive text in the title, project_path or metadata (what `q` meant before full-text search).'),
  q: z.string().max(200).optional().describe(
    'Full-text search of the messages and of the tool inputs and results (words, "a phrase", or, -word; whole words, no stemming). ' +
      'Sessions come best match first, each with `search.snippet`. Blank: no search.',
  ),
};

export type SessionFilterQuery = { [K in keyof typeof sessionFilterShape]?: z.infer<(typeof sessionFilterShape)[K]> };

function range(from: string | undefined, to: string | undefined, name: string): [Date | undefined, Date | undefined] {
  const f = from ? new Date(from) : undefined;
  const t = to ? new Date(to) : undefined;
  if (f && t && f > t) throw badRequest('invalid_time_range', `${name}_after must not be after ${name}_before`);
  return [f, t];
}

/** The filter with the caller's restriction: a user key sees only its own sessions (owner=another selects nothing). */
export function toSessionFilter(q: SessionFilterQuery, principal: Principal): SessionFilter {
  const forced = ownerFilter(principal);
  const [createdFrom, createdTo] = range(q.created_after, q.created_before, 'created');
  const [updatedFrom, updatedTo] = range(q.updated_after, q.updated_before, 'updated');
  return {
    status: q.status,
    projectType: q.project_type,
    owner: q.owner,
    visibleTo: forced,
    source: q.source,
    tool: q.tool,
    createdFrom,
    createdTo,
    updatedFrom,
    updatedTo,
    contains: q.contains?.trim() || undefined,
  };
}

/** The full-text query of `q`, or undefined when blank. */
export const searchText = (q: SessionFilterQuery) => q.q?.trim() || undefined;
