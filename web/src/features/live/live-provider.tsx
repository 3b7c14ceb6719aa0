/** Starts the live connection, applies its events to the query cache, and shares its mode. */
import { useQueryClient, type QueryClient } from '@tanstack/react-query';
import { createContext, useContext, useEffect, useMemo, useState, type ReactNode } from 'react';
import { fetchers, keys, type Fetchers } from '../../api/queries.ts';
import type { CommandLog, LiveEvent, Message, Session } from '../../api/types.ts';
import { applyToLogs, applyToMessages, applyToSession, applyToSessionPages, type SessionFilters, type SessionPages } from './apply-event.ts';
import { LiveConnection, type LiveMode } from './live-connection.ts';

/** How often queries refetch while the stream is down (PRD: 3 s). */
export const POLL_MS = 3_000;

interface LiveContextValue {
  live: LiveConnection;
  mode: LiveMode;
  fetch: Fetchers;
}

const LiveContext = createContext<LiveContextValue | undefined>(undefined);

export function applyEventToCache(qc: QueryClient, e: LiveEvent): void {
  const id = e.session_id;
  qc.setQueryData<Message[]>(keys.messages(id), (old) => old && applyToMessages(old, id, e));
  qc.setQueryData<CommandLog[]>(keys.logs(id), (old) => old && applyToLogs(old, id, e));
  qc.setQueryData<Session>(keys.session(id), (old) => old && applyToSession(old, e));
  for (const q of qc.getQueryCache().findAll({ queryKey: keys.sessionsAll })) {
    const filters = (q.queryKey[1] ?? {}) as SessionFilters;
    qc.setQueryData<SessionPages>(q.queryKey, (old) => old && applyToSessionPages(old, filters, e));
  }
}

export function LiveProvider({ children, live }: { children: ReactNode; live: LiveConnection }) {
  const qc = useQueryClient();
  const [mode, setMode] = useState<LiveMode>(live.mode);
  useEffect(() => {
    const offs = [
      live.onEvent((e) => {
        applyEventToCache(qc, e);
        // Approval lists refetch rather than fold (features/approvals/use-approvals.ts); the session's pending count with them.
        if (e.type === 'approval.updated') {
          void qc.invalidateQueries({ queryKey: ['approvals'] });
          void qc.invalidateQueries({ queryKey: keys.session(e.session_id) });
          void qc.invalidateQueries({ queryKey: keys.sessionsAll });
        }
      }),
      // The gap was too old to replay: everything shown may be out of date.
      live.onReset(() => void qc.invalidateQueries()),
      live.onMode((m) => {
        setMode(m);
        // A load that failed while the server was unreachable (its one retry too) stays failed:
        // events fold only into data already there, and polling stops once the stream is back.
        // The stream answering again means the server does too, so load those again now.
        if (m === 'live') void qc.refetchQueries({ type: 'active', predicate: (q) => q.state.status === 'error' });
      }),
    ];
    live.start();
    return () => {
      for (const off of offs) off();
      live.stop();
    };
  }, [live, qc]);
  const value = useMemo(() => ({ live, mode, fetch: fetchers(live) }), [live, mode]);
  return <LiveContext.Provider value={value}>{children}</LiveContext.Provider>;
}

export function useLive(): LiveContextValue & { refetchInterval: number | false } {
  const v = useContext(LiveContext);
  if (!v) throw new Error('useLive outside LiveProvider');
  return { ...v, refetchInterval: v.mode === 'polling' ? POLL_MS : false };
}
