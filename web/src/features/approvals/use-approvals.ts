/**
 * Approval requests from /api/approvals. They are not folded from events like messages are: an
 * `approval.updated` event invalidates these queries (live-provider.tsx) and they refetch, which
 * is cheap (a page of requests) and also catches requests that left or joined a filtered list.
 */
import { useInfiniteQuery, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { api, ApiError } from '../../api/client.ts';
import type { Approval } from '../../api/approval-types.ts';
import type { Page } from '../../api/types.ts';
import { useLive } from '../live/live-provider.tsx';

export const approvalKeys = {
  all: ['approvals'] as const,
  pending: (sessionId?: string) => ['approvals', 'pending', sessionId ?? null] as const,
  decided: ['approvals', 'decided'] as const,
  one: (id: string) => ['approvals', 'one', id] as const,
};

/** The inbox shows this many pending requests; the nav badge says "100+" beyond. */
export const PENDING_LIMIT = 100;
const DECIDED_PAGE = 50;

// 401/403 will not change by asking again.
const retry = (n: number, e: unknown) => !(e instanceof ApiError && (e.status === 401 || e.status === 403 || e.status === 404)) && n < 2;

export function usePendingApprovals(sessionId?: string) {
  const { live, refetchInterval } = useLive();
  return useQuery({
    queryKey: approvalKeys.pending(sessionId),
    queryFn: async () => {
      // Fetched once the stream is open, so a change after this answer arrives as an event.
      await live.whenReady();
      const p = new URLSearchParams({ status: 'pending', limit: String(PENDING_LIMIT) });
      if (sessionId) p.set('session_id', sessionId);
      return api<Page<Approval>>('GET', `/api/approvals?${p.toString()}`);
    },
    refetchInterval,
    retry,
  });
}

/** Allowed, denied and expired requests, newest first, a page at a time (the API lists all; pending ones are dropped here). */
export function useDecidedApprovals() {
  const { refetchInterval } = useLive();
  const q = useInfiniteQuery({
    queryKey: approvalKeys.decided,
    queryFn: ({ pageParam }) => api<Page<Approval>>('GET', `/api/approvals?limit=${DECIDED_PAGE}${pageParam ? `&cursor=${encodeURIComponent(pageParam)}` : ''}`),
    initialPageParam: null as string | null,
    getNextPageParam: (last) => last.next_cursor,
    refetchInterval,
    retry,
  });
  const items = q.data?.pages.flatMap((p) => p.data).filter((a) => a.status !== 'pending') ?? [];
  return { q, items };
}

/** The current state of one request: asked for when a request shown as pending left the pending list. */
export function useApproval(id: string, enabled: boolean) {
  return useQuery({ queryKey: approvalKeys.one(id), queryFn: () => api<Approval>('GET', `/api/approvals/${id}`), enabled, retry });
}

export interface DecisionInput {
  decision: 'allow' | 'deny';
  scope?: 'once' | 'session';
  reason?: string;
}

export function useDecide(id: string) {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (d: DecisionInput) => api<Approval>('POST', `/api/approvals/${id}/decision`, { ...d, via: 'dashboard' }),
    // Refetched at once even if the stream is down; the stream's event then changes nothing.
    onSettled: () => qc.invalidateQueries({ queryKey: approvalKeys.all }),
  });
}

/**
 * Requests once shown stay shown after they leave the pending list (decided here or elsewhere),
 * so the person sees the outcome instead of a card vanishing under the pointer. `gone` marks
 * those no longer pending; the card asks for their current state.
 */
export function useKeptApprovals(list: Approval[] | undefined): { approval: Approval; gone: boolean }[] {
  const [kept, setKept] = useState<Approval[]>([]);
  const [seen, setSeen] = useState<Approval[] | undefined>(undefined);
  let all = kept;
  // Derived while rendering (React's pattern for state that follows a prop): no frame without the new list.
  if (list !== seen) {
    const byId = new Map(kept.map((a) => [a.id, a]));
    for (const a of list ?? []) byId.set(a.id, a);
    all = [...byId.values()].sort((a, b) => b.requested_at.localeCompare(a.requested_at));
    setSeen(list);
    setKept(all);
  }
  const current = new Set(list?.map((a) => a.id));
  return all.map((approval) => ({ approval, gone: list !== undefined && !current.has(approval.id) }));
}
