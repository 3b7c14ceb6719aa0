import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './app.tsx';
import { LiveConnection } from './features/live/live-connection.ts';
import { LiveProvider } from './features/live/live-provider.tsx';
import './styles.css';

// Live events keep the cache current, so data is never refetched just for being old;
// refetches come from the polling fallback, a reset, or a failed query's retry.
const queryClient = new QueryClient({
  defaultOptions: {
    queries: { staleTime: Infinity, retry: 1, refetchOnWindowFocus: false, refetchOnReconnect: true },
  },
});
const live = new LiveConnection();

const root = document.getElementById('root');
if (!root) throw new Error('index.html has no #root');
createRoot(root).render(
  <StrictMode>
    <QueryClientProvider client={queryClient}>
      <LiveProvider live={live}>
        <App />
      </LiveProvider>
    </QueryClientProvider>
  </StrictMode>,
);
