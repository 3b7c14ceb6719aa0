/**
 * What a runner process (ROLE=runner) serves: GET /health (and GET /metrics), for load balancers, compose
 * healthchecks and drains. 200 while it takes turns and its database answers, 503 otherwise.
 */
import http from 'node:http';
import type { Database } from '../db/database.ts';
import { serveMetrics, type ScrapeAccess } from '../metrics/http.ts';
import type { Metrics } from '../metrics/metrics.ts';
import type { Runner } from './runner.ts';
import { listen } from '../lib/listen.ts';

export interface HealthServer {
  url: string;
  close(): Promise<void>;
}

export async function startHealthServer(deps: { host: string; port: number; runner: Runner; database: Database; metrics?: { metrics: Metrics; access: ScrapeAccess } | undefined }): Promise<HealthServer> {
  const server = http.createServer((req, res) => {
    // This process's own metrics, with the API's access rules (src/metrics/http.ts).
    if (deps.metrics && serveMetrics(req, res, deps.metrics.metrics, deps.metrics.access)) return;
    const path = (req.url ?? '/').split('?')[0];
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
      res.end(JSON.stringify(body));
    };
    if (path !== '/health' || (req.method !== 'GET' && req.method !== 'HEAD')) {
      send(404, { error: { code: 'not_found', message: 'a runner serves only GET /health and GET /metrics; the API is on the api processes' } });
      return;
    }
    void deps.database.ping().then((db) => {
      const ok = db && deps.runner.accepting;
      send(ok ? 200 : 503, { status: ok ? 'ok' : 'unavailable', role: 'runner', running: deps.runner.running, accepting: deps.runner.accepting, database: db ? 'ok' : 'unreachable' });
    });
  });
  return listen(server, deps.port, deps.host);
}
