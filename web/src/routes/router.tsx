/** A tiny history-API router: a handful of pages does not need a routing library. */
import { useEffect, useState, type AnchorHTMLAttributes, type MouseEvent } from 'react';

export type Route = { page: 'sessions' } | { page: 'session'; id: string } | { page: 'new' } | { page: 'signin' } | { page: 'audit' } | { page: 'approvals' } | { page: 'schedules' } | { page: 'not-found' };

export function matchRoute(pathname: string): Route {
  if (pathname === '/' || pathname === '') return { page: 'sessions' };
  if (pathname === '/new') return { page: 'new' };
  if (pathname === '/signin') return { page: 'signin' };
  if (pathname === '/audit' || pathname === '/audit/') return { page: 'audit' };
  if (pathname === '/approvals' || pathname === '/approvals/') return { page: 'approvals' };
  if (pathname === '/schedules' || pathname === '/schedules/') return { page: 'schedules' };
  const m = /^\/sessions\/([0-9a-fA-F-]{36})\/?$/.exec(pathname);
  return m?.[1] ? { page: 'session', id: m[1] } : { page: 'not-found' };
}

const listeners = new Set<() => void>();

export function navigate(to: string, opts: { replace?: boolean } = {}): void {
  if (opts.replace) window.history.replaceState(null, '', to);
  else window.history.pushState(null, '', to);
  for (const l of listeners) l();
}

/** The current location; re-renders on navigate() and on back/forward. */
export function useLocation(): { pathname: string; search: URLSearchParams } {
  const [, setTick] = useState(0);
  useEffect(() => {
    const bump = () => setTick((t) => t + 1);
    listeners.add(bump);
    window.addEventListener('popstate', bump);
    return () => {
      listeners.delete(bump);
      window.removeEventListener('popstate', bump);
    };
  }, []);
  return { pathname: window.location.pathname, search: new URLSearchParams(window.location.search) };
}

/** An anchor that navigates in-app on a plain left click and behaves as a link otherwise (new tab, copy). */
export function Link({ to, onClick, ...rest }: { to: string } & AnchorHTMLAttributes<HTMLAnchorElement>) {
  const click = (e: MouseEvent<HTMLAnchorElement>) => {
    onClick?.(e);
    if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    e.preventDefault();
    navigate(to);
    window.scrollTo(0, 0);
  };
  return <a href={to} onClick={click} {...rest} />;
}
