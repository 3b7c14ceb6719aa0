import { useEffect, useRef, type ReactNode } from 'react';
import { canAudit } from './features/auth/access.ts';
import { AuthGate, UserMenu, useMe } from './features/auth/auth.tsx';
import type { LiveConnection, LiveMode } from './features/live/live-connection.ts';
import { LiveProvider, useLive } from './features/live/live-provider.tsx';
import { ApprovalsNavLink } from './features/approvals/nav-link.tsx';
import { ApprovalsPage } from './routes/approvals-page.tsx';
import { AuditPage } from './routes/audit-page.tsx';
import { SchedulesPage } from './routes/schedules-page.tsx';
import { NewSessionPage } from './routes/new-session-page.tsx';
import { Link, matchRoute, useLocation, type Route } from './routes/router.tsx';
import { SessionPage } from './routes/session-page.tsx';
import { SessionsPage } from './routes/sessions-page.tsx';
import { SignInPage } from './routes/signin-page.tsx';

const MODE_TEXT: Record<LiveMode, string> = {
  connecting: 'Connecting…',
  live: 'Live',
  reconnecting: 'Reconnecting…',
  polling: 'Polling every 3 s',
};

const TITLES: Record<Route['page'], string> = { session: 'Session', new: 'New session', signin: 'Sign in', sessions: 'Sessions', audit: 'Audit log', approvals: 'Approvals', schedules: 'Schedules', 'not-found': 'Sessions' };

function LiveIndicator() {
  const { mode } = useLive();
  return (
    <span className={`live live-${mode}`} data-testid="live" data-mode={mode} role="status" title={mode === 'polling' ? 'The live stream is unavailable; refreshing every 3 seconds.' : undefined}>
      <span className="dot" aria-hidden="true" /> {MODE_TEXT[mode]}
    </span>
  );
}

/** The brand already leads to the sessions list. */
function MainNav() {
  const me = useMe();
  return (
    <nav className="topnav" aria-label="Main">
      <ApprovalsNavLink />
      <Link to="/schedules">Schedules</Link>
      {canAudit(me) && <Link to="/audit">Audit log</Link>}
    </nav>
  );
}

/** Skip link, top bar (brand, `nav`, then `right`) and the content. */
function Frame({ nav, right, children }: { nav?: ReactNode; right?: ReactNode; children: ReactNode }) {
  const main = useRef<HTMLDivElement>(null);
  return (
    <>
      <a className="skip" href="#content">Skip to content</a>
      <header className="topbar">
        <Link to="/" className="brand">Claude Code Orchestrator</Link>
        {nav}
        {right && <div className="topbar-right">{right}</div>}
      </header>
      <div id="content" ref={main} tabIndex={-1}>
        {children}
      </div>
    </>
  );
}

/** The sign-in page stands alone: no /api/me, no live stream, until a key was given. */
export function App({ live }: { live: LiveConnection }) {
  const { pathname } = useLocation();
  const route = matchRoute(pathname);
  useEffect(() => {
    document.title = `${TITLES[route.page]} · CCO`;
  }, [route.page]);
  if (route.page === 'signin') return <Frame><SignInPage /></Frame>;
  return (
    <AuthGate frame={(body) => <Frame>{body}</Frame>}>
      <LiveProvider live={live}>
        <Frame nav={<MainNav />} right={<><UserMenu /><LiveIndicator /></>}>
          {route.page === 'sessions' && <SessionsPage />}
          {route.page === 'session' && <SessionPage id={route.id} key={route.id} />}
          {route.page === 'new' && <NewSessionPage />}
          {route.page === 'audit' && <AuditPage />}
          {route.page === 'approvals' && <ApprovalsPage />}
          {route.page === 'schedules' && <SchedulesPage />}
          {route.page === 'not-found' && (
            <main className="page">
              <h1>Page not found</h1>
              <p><Link to="/">Back to sessions</Link></p>
            </main>
          )}
        </Frame>
      </LiveProvider>
    </AuthGate>
  );
}
