import { useInfiniteQuery } from '@tanstack/react-query';
import { api } from '../../api/client.ts';
import type { AuditEntry, Page } from '../../api/types.ts';

export interface AuditFilters {
  actor?: string | undefined;
  action?: string | undefined;
  target?: string | undefined;
  /** ISO times */
  from?: string | undefined;
  to?: string | undefined;
}

export const AUDIT_PAGE = 50;

export function auditUrl(f: AuditFilters, cursor: string | null): string {
  const p = new URLSearchParams({ limit: String(AUDIT_PAGE) });
  for (const k of ['actor', 'action', 'target', 'from', 'to'] as const) {
    const v = f[k];
    if (v) p.set(k, v);
  }
  if (cursor) p.set('cursor', cursor);
  return `/api/audit?${p.toString()}`;
}

/** The log only grows at its head and entries never change: pages are loaded on demand, not live. */
export function useAudit(filters: AuditFilters) {
  const q = useInfiniteQuery({
    queryKey: ['audit', filters] as const,
    queryFn: ({ pageParam }) => api<Page<AuditEntry>>('GET', auditUrl(filters, pageParam)),
    initialPageParam: null as string | null,
    getNextPageParam: (last) => last.next_cursor,
    // 401/403 will not change by asking again.
    retry: false,
  });
  const entries = q.data?.pages.flatMap((p) => p.data) ?? [];
  return { q, entries };
}
