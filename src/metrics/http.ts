/**
 * Where the metrics are read: GET /metrics on the API port (and on a runner's health port), which
 * needs METRICS_TOKEN or an admin or viewer key (roles that see every session; the figures sum up
 * all of them), and, with METRICS_PORT, a listener of its own that serves GET /metrics without a
 * key (for a scraper inside a private network). HTTP request durations are recorded here too, by
 * route pattern (never the URL: ids would make a series per session).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import type { FastifyInstance } from 'fastify';
import { forbidden, unauthorized, type AuthMode } from '../auth/http.ts';
import type { AuthService } from '../auth/service.ts';
import { AppError } from '../lib/errors.ts';
import type { Logger } from '../logger.ts';
import type { Metrics } from './metrics.ts';
import { listen } from '../lib/listen.ts';

export interface ScrapeAccess {
  mode: AuthMode;
  auth: AuthService;
  /** METRICS_TOKEN: a bearer token that reads /metrics and nothing else. */
  token: string | undefined;
}

/** Roles that may read /metrics with their key. */
const SCRAPE_ROLES: ReadonlySet<string> = new Set(['admin', 'viewer']);
/** Requests not matched by any route are one label value, not their URLs. */
export const UNMATCHED_ROUTE = 'unmatched';

const digest = (s: string) => createHash('sha256').update(s).digest();

function credentialOf(headers: http.IncomingHttpHeaders): string | undefined {
  const authz = headers.authorization;
  if (typeof authz === 'string' && authz !== '') return /^Bearer\s+(\S+)\s*$/i.exec(authz)?.[1] ?? '';
  const key = headers['x-api-key'];
  return typeof key === 'string' && key !== '' ? key.trim() : undefined;
}

/** undefined when the request may read the metrics, else the 401 or 403 to answer. */
export async function scrapeRefusal(headers: http.IncomingHttpHeaders, a: ScrapeAccess): Promise<AppError | undefined> {
  if (a.mode === 'off') return undefined;
  const cred = credentialOf(headers);
  if (cred === undefined) return unauthorized('metrics need METRICS_TOKEN or an admin or viewer key: send Authorization: Bearer <token>');
  // Compared as digests: equal length, constant time.
  if (a.token !== undefined && timingSafeEqual(digest(cred), digest(a.token))) return undefined;
  const principal = await a.auth.authenticate(cred);
  if (!principal) return unauthorized('the token or API key is unknown, expired or revoked');
  return SCRAPE_ROLES.has(principal.role) ? undefined : forbidden(`a ${principal.role} key may not read metrics (admin, viewer or METRICS_TOKEN)`);
}

/** The request-duration hook and GET /metrics on the API. */
export function registerMetrics(app: FastifyInstance, metrics: Metrics, access: ScrapeAccess): void {
  app.addHook('onResponse', async (req, reply) => {
    metrics.httpRequest(req.method, req.routeOptions.url ?? UNMATCHED_ROUTE, reply.statusCode, reply.elapsedTime / 1000);
  });
  app.get('/metrics', { schema: { hide: true }, config: { access: 'public' } }, async (req, reply) => {
    const refusal = await scrapeRefusal(req.headers, access);
    if (refusal) throw refusal;
    return reply.header('cache-control', 'no-store').type(metrics.contentType).send(await metrics.render());
  });
}

/** Answers GET /metrics on a plain node server (a runner's health port, METRICS_PORT); false for other paths. */
export function serveMetrics(req: http.IncomingMessage, res: http.ServerResponse, metrics: Metrics, access: ScrapeAccess | undefined): boolean {
  if ((req.url ?? '/').split('?')[0] !== '/metrics' || (req.method !== 'GET' && req.method !== 'HEAD')) return false;
  const fail = (e: AppError) => {
    res.writeHead(e.statusCode, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
    res.end(JSON.stringify({ error: { code: e.code, message: e.message } }));
  };
  void (async () => {
    const refusal = access ? await scrapeRefusal(req.headers, access) : undefined;
    if (refusal) return fail(refusal);
    const body = await metrics.render();
    res.writeHead(200, { 'content-type': metrics.contentType, 'cache-control': 'no-store' });
    res.end(req.method === 'HEAD' ? undefined : body);
  })().catch(() => {
    if (!res.headersSent) fail(new AppError('internal_error', 'could not render the metrics', 500));
  });
  return true;
}

export interface MetricsServer {
  url: string;
  close(): Promise<void>;
}

/** METRICS_PORT: GET /metrics without a key, nothing else. */
export async function startMetricsServer(o: { host: string; port: number; metrics: Metrics; logger: Logger }): Promise<MetricsServer> {
  const server = http.createServer((req, res) => {
    if (serveMetrics(req, res, o.metrics, undefined)) return;
    res.writeHead(404, { 'content-type': 'application/json; charset=utf-8' });
    res.end(JSON.stringify({ error: { code: 'not_found', message: 'this port serves only GET /metrics' } }));
  });
  return listen(server, o.port, o.host);
}
