/** Who is signed in and what they may do: pure, so tests import it without React. */
import type { Session } from '../../api/types.ts';

export interface Me {
  name: string;
  role: 'admin' | 'user' | 'viewer' | 'hook';
  /** The owner recorded on sessions this caller creates. */
  owner: string;
  /** off: no keys (loopback only), everyone is the local admin; nothing about sign-in is shown. */
  auth: 'keys' | 'off';
}

/** The audit log is for admins (the server answers 403 to anyone else). */
export const canAudit = (me: Me): boolean => me.role === 'admin';

/** Admins and users start sessions; viewers and hook tokens do not. */
export const canCreate = (me: Me): boolean => me.role === 'admin' || me.role === 'user';

/** Admins change any session; a user only its own (the server enforces it; this hides controls that would fail). */
export const canChange = (me: Me, s: Pick<Session, 'owner'>): boolean => me.role === 'admin' || (me.role === 'user' && s.owner === me.owner);

/** Where to return after sign-in: a path on this site only (never `//host`), and not the sign-in page itself. */
export function safeNext(next: string | null): string {
  if (!next || !next.startsWith('/') || next.startsWith('//') || next.startsWith('/\\') || next.startsWith('/signin')) return '/';
  return next;
}

/** The sign-in page, remembering the current page to come back to. */
export function signInUrl(loc: { pathname: string; search: string } = window.location): string {
  const here = loc.pathname + loc.search;
  return here === '/' || loc.pathname === '/signin' ? '/signin' : `/signin?next=${encodeURIComponent(here)}`;
}
