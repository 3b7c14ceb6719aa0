import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { onUnauthorized } from './api/client.ts';
import { App } from './app.tsx';
import { signInUrl } from './features/auth/access.ts';
import { LiveConnection } from './features/live/live-connection.ts';
import './styles.css';

// Live events keep the cache current, so data is never refetched just for being old;
// refetches come from the polling fallback, a reset, or a failed query's retry.
const queryClient = new QueryClient({
  defaultOptions: {
    queries: { staleTime: Infinity, retry: 1, refetchOnWindowFocus: false, refetchOnReconnect: true },
  },
});
const live = new LiveConnection();
// Signed out, expired or revoked: a full load of the sign-in page, which also drops this user's cached data.
onUnauthorized(() => {
  if (window.location.pathname !== '/signin') window.location.assign(signInUrl());
});

const root = document.getElementById('root');
if (!root) throw new Error('index.html has no #root');
createRoot(root).render(
  <StrictMode>
    <QueryClientProvider client={queryClient}>
      <App live={live} />
    </QueryClientProvider>
  </StrictMode>,
);
