import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api } from '../../api/client.ts';
import { keys } from '../../api/queries.ts';
import type { Message, Session } from '../../api/types.ts';
import { applyEventToCache, useLive } from '../live/live-provider.tsx';

export function useSessionData(id: string) {
  const { fetch, refetchInterval } = useLive();
  const session = useQuery({ queryKey: keys.session(id), queryFn: () => fetch.session(id), refetchInterval });
  const messages = useQuery({ queryKey: keys.messages(id), queryFn: () => fetch.messages(id), refetchInterval });
  const logs = useQuery({ queryKey: keys.logs(id), queryFn: () => fetch.logs(id), refetchInterval });
  return { session, messages, logs };
}

/**
 * Sends a user message; the runner continues the session with it (queued while a turn runs). In a
 * recorded-only session it is recorded, unless `run` asks the orchestrator to take the session over.
 */
export function useSendMessage(id: string) {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: ({ content, run }: { content: string; run?: boolean }) =>
      api<Message>('POST', `/api/sessions/${id}/messages`, { direction: 'user', content, source: 'dashboard', ...(run === undefined ? {} : { run }) }),
    // Shown at once even if the stream is down; the stream's copy of the event is then a no-op.
    onSuccess: (message) => applyEventToCache(qc, { type: 'message.created', message, seq: 0, session_id: id, at: message.timestamp }),
  });
}

export function useSetStatus(id: string) {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (status: Session['status']) => api<Session>('PATCH', `/api/sessions/${id}`, { status }),
    onSuccess: (session) => applyEventToCache(qc, { type: 'session.updated', session, seq: 0, session_id: id, at: session.updated_at }),
  });
}

export function useSetTitle(id: string) {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (title: string) => api<Session>('PATCH', `/api/sessions/${id}`, { title }),
    onSuccess: (session) => applyEventToCache(qc, { type: 'session.updated', session, seq: 0, session_id: id, at: session.updated_at }),
  });
}
