/**
 * Pure functions that fold one live event into cached API data. They are
 * idempotent (an event applied twice, or one already in a fetched page, changes
 * nothing), because the same event can arrive both in a REST response and on
 * the stream, or twice after a replay. A reference (`truncated`) carries no
 * usable item and changes nothing: LiveConnection fetches the item and passes
 * the whole event on.
 */
import type { CommandLog, LiveEvent, Message, Page, Session } from '../../api/types.ts';

export interface SessionFilters {
  status?: string | undefined;
  project_type?: string | undefined;
  /** Full-text search of messages and tool logs (server-side only). */
  q?: string | undefined;
  /** Case-insensitive text in project_path or metadata. */
  contains?: string | undefined;
  owner?: string | undefined;
  source?: string | undefined;
  tool?: string | undefined;
  /** Dates (YYYY-MM-DD), both ends included. */
  created_from?: string | undefined;
  created_to?: string | undefined;
  updated_from?: string | undefined;
  updated_to?: string | undefined;
}

/** Filters the browser cannot check on a live session (a search rank, tools used): such lists only update rows they hold. */
const serverOnly = (f: SessionFilters) => Boolean(f.q || f.tool);
const day = (iso: string) => iso.slice(0, 10);

export interface SessionPages {
  pages: Page<Session>[];
  pageParams: unknown[];
}

/** Inserts by id, keeping ascending id order; a known id is left as is. */
function insertById<T extends { id: number }>(items: T[], item: T): T[] {
  if (items.some((x) => x.id === item.id)) return items;
  const last = items[items.length - 1];
  if (!last || last.id < item.id) return [...items, item];
  return [...items, item].sort((a, b) => a.id - b.id);
}

export function applyToMessages(messages: Message[], sessionId: string, e: LiveEvent): Message[] {
  return e.type === 'message.created' && e.session_id === sessionId && !e.truncated ? insertById(messages, e.message) : messages;
}

export function applyToLogs(logs: CommandLog[], sessionId: string, e: LiveEvent): CommandLog[] {
  return e.type === 'log.created' && e.session_id === sessionId && !e.truncated ? insertById(logs, e.log) : logs;
}

/**
 * The newer of two versions of a session; ties go to the incoming one (turn_state can change within a millisecond).
 * Events do not carry pending_approvals (REST adds it): the known count stays until approval events refetch it.
 */
function newer(current: Session, incoming: Session): Session {
  if (Date.parse(incoming.updated_at) < Date.parse(current.updated_at)) return current;
  return incoming.pending_approvals === undefined && current.pending_approvals !== undefined ? { ...incoming, pending_approvals: current.pending_approvals } : incoming;
}

/** Activity on a session (a message or log) moves its updated_at, as the server does. */
function touched(s: Session, e: LiveEvent): Session {
  const at = e.type === 'message.created' ? e.message.timestamp : e.type === 'log.created' ? e.log.timestamp : undefined;
  return at && Date.parse(at) > Date.parse(s.updated_at) ? { ...s, updated_at: at } : s;
}

export function applyToSession(session: Session, e: LiveEvent): Session {
  if (e.session_id !== session.id || e.truncated) return session;
  if (e.type === 'session.updated' || e.type === 'session.created') return newer(session, e.session);
  return touched(session, e);
}

/** Approximates the server's filters, so a live session appears in (or leaves) a filtered list. */
export function matchesFilters(s: Session, f: SessionFilters): boolean {
  if (f.status && s.status !== f.status) return false;
  if (f.project_type && s.project_type !== f.project_type) return false;
  if (f.owner && s.owner !== f.owner) return false;
  if (f.source && s.source !== f.source) return false;
  if (f.created_from && day(s.created_at) < f.created_from) return false;
  if (f.created_to && day(s.created_at) > f.created_to) return false;
  if (f.updated_from && day(s.updated_at) < f.updated_from) return false;
  if (f.updated_to && day(s.updated_at) > f.updated_to) return false;
  const c = f.contains?.trim().toLowerCase();
  if (c && !s.project_path.toLowerCase().includes(c) && !(s.title ?? '').toLowerCase().includes(c) && !JSON.stringify(s.metadata).toLowerCase().includes(c)) return false;
  return true;
}

/**
 * The list is newest activity first. A session that changed moves to the top of
 * the first page; one that no longer matches the filters leaves. Later pages keep
 * their server cursors, so a moved session may come back in a later page: the
 * list view drops such repeats.
 */
export function applyToSessionPages(data: SessionPages, filters: SessionFilters, e: LiveEvent): SessionPages {
  if (e.truncated) return data;
  let found: Session | undefined;
  for (const p of data.pages) found ??= p.data.find((s) => s.id === e.session_id);
  let next: Session | undefined;
  if (e.type === 'session.created' || e.type === 'session.updated') next = found ? newer(found, e.session) : e.session;
  else if (found) next = touched(found, e);
  if (!next || next === found) return data;
  if (serverOnly(filters)) {
    // A ranked (or tool-filtered) list keeps its order and members; a row it holds shows the change.
    if (!found) return data;
    const changed = { ...next, ...(found.search ? { search: found.search } : {}) };
    return { ...data, pages: data.pages.map((p) => (p.data.includes(found) ? { ...p, data: p.data.map((s) => (s === found ? changed : s)) } : p)) };
  }
  const keep = matchesFilters(next, filters);
  if (found && next.updated_at === found.updated_at) {
    const changed = next;
    return { ...data, pages: data.pages.map((p) => (p.data.includes(found) ? { ...p, data: keep ? p.data.map((s) => (s === found ? changed : s)) : p.data.filter((s) => s !== found) } : p)) };
  }
  const without = data.pages.map((p) => (found && p.data.includes(found) ? { ...p, data: p.data.filter((s) => s !== found) } : p));
  if (!keep) return { ...data, pages: without };
  const [first, ...rest] = without;
  if (!first) return { ...data, pages: [{ data: [next], next_cursor: null }] };
  const at = first.data.findIndex((s) => Date.parse(s.updated_at) <= Date.parse(next.updated_at));
  // Older than the whole first page while more pages exist: it belongs to a page not shown yet.
  if (at < 0 && first.next_cursor !== null) return { ...data, pages: without };
  const firstData = [...first.data];
  firstData.splice(at < 0 ? firstData.length : at, 0, next);
  return { ...data, pages: [{ ...first, data: firstData }, ...rest] };
}
