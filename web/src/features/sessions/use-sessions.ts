import { useInfiniteQuery } from '@tanstack/react-query';
import { keys } from '../../api/queries.ts';
import type { Session } from '../../api/types.ts';
import type { SessionFilters } from '../live/apply-event.ts';
import { useLive } from '../live/live-provider.tsx';

export function useSessions(filters: SessionFilters) {
  const { fetch, refetchInterval } = useLive();
  const q = useInfiniteQuery({
    queryKey: keys.sessions(filters),
    queryFn: ({ pageParam }) => fetch.sessionsPage(filters, pageParam),
    initialPageParam: null as string | null,
    getNextPageParam: (last) => last.next_cursor,
    refetchInterval,
  });
  // A session that moved to the top live can come again in a later page: show it once.
  const seen = new Set<string>();
  const sessions: Session[] = [];
  for (const page of q.data?.pages ?? []) {
    for (const s of page.data) {
      if (seen.has(s.id)) continue;
      seen.add(s.id);
      sessions.push(s);
    }
  }
  return { q, sessions };
}
