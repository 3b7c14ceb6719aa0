import { useEffect, useRef } from 'react';
import { useLive } from './features/live/live-provider.tsx';
import type { LiveMode } from './features/live/live-connection.ts';
import { NewSessionPage } from './routes/new-session-page.tsx';
import { Link, matchRoute, useLocation } from './routes/router.tsx';
import { SessionPage } from './routes/session-page.tsx';
import { SessionsPage } from './routes/sessions-page.tsx';

const MODE_TEXT: Record<LiveMode, string> = {
  connecting: 'Connecting…',
  live: 'Live',
  reconnecting: 'Reconnecting…',
  polling: 'Polling every 3 s',
};

function LiveIndicator() {
  const { mode } = useLive();
  return (
    <span className={`live live-${mode}`} data-testid="live" data-mode={mode} role="status" title={mode === 'polling' ? 'The live stream is unavailable; refreshing every 3 seconds.' : undefined}>
      <span className="dot" aria-hidden="true" /> {MODE_TEXT[mode]}
    </span>
  );
}

export function App() {
  const { pathname } = useLocation();
  const route = matchRoute(pathname);
  const main = useRef<HTMLDivElement>(null);
  useEffect(() => {
    document.title = route.page === 'session' ? 'Session · CCO' : route.page === 'new' ? 'New session · CCO' : 'Sessions · CCO';
  }, [route.page]);
  return (
    <>
      <a className="skip" href="#content">Skip to content</a>
      <header className="topbar">
        <Link to="/" className="brand">Claude Code Orchestrator</Link>
        <LiveIndicator />
      </header>
      <div id="content" ref={main} tabIndex={-1}>
        {route.page === 'sessions' && <SessionsPage />}
        {route.page === 'session' && <SessionPage id={route.id} key={route.id} />}
        {route.page === 'new' && <NewSessionPage />}
        {route.page === 'not-found' && (
          <main className="page">
            <h1>Page not found</h1>
            <p><Link to="/">Back to sessions</Link></p>
          </main>
        )}
      </div>
    </>
  );
}
