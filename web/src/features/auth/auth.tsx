/**
 * Who is signed in (GET /api/me), what they may do, and the header's name and sign-out.
 * The key never reaches script-readable storage: sign-in trades it for an HttpOnly cookie,
 * and every page after that (and the event stream) rides on the cookie.
 */
import { useQuery } from '@tanstack/react-query';
import { createContext, useContext, useState, type ReactNode } from 'react';
import { api, ApiError, errorText } from '../../api/client.ts';
import { ErrorNotice } from '../../components/notices.tsx';
import { signInUrl, type Me } from './access.ts';

const MeContext = createContext<Me | undefined>(undefined);

export function useMe(): Me {
  const me = useContext(MeContext);
  if (!me) throw new Error('useMe outside AuthGate');
  return me;
}

/**
 * Renders its children once /api/me answers, and `frame(body)` until then; a 401 has already
 * sent the browser to the sign-in page (the API client's handler), the link is for the moment between.
 */
export function AuthGate({ children, frame }: { children: ReactNode; frame: (body: ReactNode) => ReactNode }) {
  const me = useQuery({ queryKey: ['me'], queryFn: () => api<Me>('GET', '/api/me'), retry: false, staleTime: Infinity });
  if (me.data) return <MeContext.Provider value={me.data}>{children}</MeContext.Provider>;
  if (me.error instanceof ApiError && me.error.status === 401) {
    return frame(<main className="page"><p className="muted">Not signed in. <a href={signInUrl()}>Sign in</a></p></main>);
  }
  if (me.isError) return frame(<main className="page"><ErrorNotice error={me.error} what="who is signed in" onRetry={() => void me.refetch()} /></main>);
  return frame(<main className="page"><p className="muted">Loading…</p></main>);
}

/** "name (role)" and Sign out; nothing when the server runs without keys. */
export function UserMenu() {
  const me = useMe();
  const [error, setError] = useState<string>();
  if (me.auth !== 'keys') return null;
  const signOut = async () => {
    try {
      await api('POST', '/api/auth/signout');
      // A full load, so nothing of this user stays in memory (cache, live stream).
      window.location.assign('/signin');
    } catch (e: unknown) {
      setError(errorText(e));
    }
  };
  return (
    <span className="user-menu">
      <span data-testid="whoami">{me.name} ({me.role})</span>
      <button type="button" onClick={() => void signOut()}>Sign out</button>
      {error && <span className="notice error inline" role="alert">Not signed out: {error}</span>}
    </span>
  );
}
