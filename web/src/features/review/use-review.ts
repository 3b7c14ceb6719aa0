/** The session's turns and diffs, refetched when the session says a turn started or ended. */
import { useQuery } from '@tanstack/react-query';
import { api } from '../../api/client.ts';
import type { Page, Session, Turn } from '../../api/types.ts';

export interface DiffAnswer {
  diff: string;
  truncated: boolean;
}

/** What changes when a turn starts or ends (turn state, turn count, the last change scan). */
function turnsVersion(s: Session | undefined): string {
  const scan = (s?.metadata.workspace as { changes?: { measured_at?: string } } | undefined)?.changes?.measured_at;
  return `${s?.turn_state ?? ''}:${s?.totals?.turns ?? 0}:${scan ?? ''}`;
}

/** Every turn, oldest first (pages of 200). */
export function useTurns(session: Session | undefined) {
  const id = session?.id ?? '';
  return useQuery({
    queryKey: ['turns', id, turnsVersion(session)],
    enabled: session !== undefined,
    placeholderData: (prev) => prev,
    queryFn: async () => {
      const all: Turn[] = [];
      let cursor: string | null = null;
      do {
        const page: Page<Turn> = await api<Page<Turn>>('GET', `/api/sessions/${id}/turns?limit=200${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
        all.push(...page.data);
        cursor = page.next_cursor;
      } while (cursor && all.length < 5_000);
      return all;
    },
  });
}

/** The whole session's diff (turn undefined) or one turn's. */
export function useDiff(session: Session | undefined, turn: number | undefined) {
  const id = session?.id ?? '';
  return useQuery({
    queryKey: ['diff', id, turn ?? 'all', turnsVersion(session)],
    enabled: session !== undefined,
    retry: false,
    queryFn: () => api<DiffAnswer>('GET', turn === undefined ? `/api/sessions/${id}/diff` : `/api/sessions/${id}/turns/${turn}/diff`),
  });
}
