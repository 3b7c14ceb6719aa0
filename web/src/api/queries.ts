/**
 * Query keys and fetchers. Each fetcher waits briefly for the live stream, notes
 * the last event seq it had, and folds in events that arrived while it fetched,
 * so a response that raced with the stream never hides a newer change.
 */
import { applyToLogs, applyToMessages, applyToSession, applyToSessionPages, type SessionFilters } from '../features/live/apply-event.ts';
import type { LiveConnection } from '../features/live/live-connection.ts';
import { api } from './client.ts';
import type { CommandLog, LiveEvent, Message, Page, Session } from './types.ts';

export const keys = {
  sessionsAll: ['sessions'] as const,
  sessions: (f: SessionFilters) => ['sessions', f] as const,
  session: (id: string) => ['session', id] as const,
  messages: (id: string) => ['messages', id] as const,
  logs: (id: string) => ['logs', id] as const,
};

const PAGE = 200;
/** A conversation or tool log is loaded whole up to this many items. */
export const MAX_ITEMS = 5_000;

function qs(params: Record<string, string | undefined | null>): string {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v) p.set(k, v);
  const s = p.toString();
  return s ? `?${s}` : '';
}

/** The day after a YYYY-MM-DD date: the dashboard's "to" dates include their day, the API's *_before excludes it. */
function nextDay(date: string | undefined): string | undefined {
  if (!date) return undefined;
  const d = new Date(`${date}T00:00:00.000Z`);
  if (Number.isNaN(d.getTime())) return date;
  d.setUTCDate(d.getUTCDate() + 1);
  return d.toISOString().slice(0, 10);
}

/** The API's query parameters for the list's filters (GET /api/sessions and GET /api/export take the same). */
export function filterParams(f: SessionFilters): Record<string, string | undefined> {
  return {
    status: f.status,
    project_type: f.project_type,
    q: f.q,
    contains: f.contains,
    owner: f.owner,
    source: f.source,
    tool: f.tool,
    created_after: f.created_from,
    created_before: nextDay(f.created_to),
    updated_after: f.updated_from,
    updated_before: nextDay(f.updated_to),
  };
}

export type ExportChoice = 'json' | 'zip' | 'csv:sessions' | 'csv:messages' | 'csv:logs';

/** A download link for the current filters (the browser sends the sign-in cookie). */
export function exportUrl(f: SessionFilters, choice: ExportChoice): string {
  const [format, table] = choice.split(':');
  return `/api/export${qs({ format, table, ...filterParams(f) })}`;
}

async function fetchAll<T>(path: string): Promise<T[]> {
  const items: T[] = [];
  let cursor: string | null = null;
  do {
    const page: Page<T> = await api<Page<T>>('GET', `${path}${qs({ limit: String(PAGE), cursor })}`);
    items.push(...page.data);
    cursor = page.next_cursor;
  } while (cursor && items.length < MAX_ITEMS);
  return items;
}

export function fetchers(live: LiveConnection) {
  /**
   * `stale` names events that cannot be folded in (an approval changes a session's
   * pending_approvals, which events do not carry): one arriving during the load means
   * load again. The live provider's invalidation cannot do it then: TanStack Query does
   * not restart a query's first fetch, it hands back the one in flight.
   */
  async function caughtUp<T>(load: () => Promise<T>, fold: (data: T, e: LiveEvent) => T, stale?: (e: LiveEvent) => boolean): Promise<T> {
    await live.whenReady();
    for (let attempt = 1; ; attempt++) {
      const seq = live.lastSeq;
      let data: T = await load();
      const missed = live.replaySince(seq);
      if (stale && attempt < 3 && missed.some(stale)) continue;
      for (const e of missed) data = fold(data, e);
      return data;
    }
  }
  const approvalOf = (id?: string) => (e: LiveEvent) => e.type === 'approval.updated' && (id === undefined || e.session_id === id);
  return {
    sessionsPage: (filters: SessionFilters, cursor: string | null) =>
      caughtUp(
        () => api<Page<Session>>('GET', `/api/sessions${qs({ limit: '50', cursor, ...filterParams(filters) })}`),
        // Only the first page can gain sessions that changed meanwhile.
        (page, e) => (cursor ? page : (applyToSessionPages({ pages: [page], pageParams: [null] }, filters, e).pages[0] ?? page)),
        approvalOf(),
      ),
    session: (id: string) => caughtUp(() => api<Session>('GET', `/api/sessions/${id}`), (s, e) => applyToSession(s, e), approvalOf(id)),
    messages: (id: string) => caughtUp(() => fetchAll<Message>(`/api/sessions/${id}/messages`), (m, e) => applyToMessages(m, id, e)),
    logs: (id: string) => caughtUp(() => fetchAll<CommandLog>(`/api/sessions/${id}/logs`), (l, e) => applyToLogs(l, id, e)),
  };
}

export type Fetchers = ReturnType<typeof fetchers>;
