/**
 * Security headers on every answer (API, dashboard, /docs) from helmet, with its
 * defaults (CSP default-src 'self', nosniff, frame-ancestors 'self', no referrer,
 * same-origin opener and resource policies) except where plain HTTP needs otherwise.
 *
 * helmet computes its headers per response (a CSP may hold per-request nonces);
 * ours hold none, so helmet runs once at start and every answer gets the same
 * precomputed set: @fastify/helmet's per-request work was ~6% of the server's CPU
 * under hook ingest (profile in BENCHMARKS.md).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FastifyInstance } from 'fastify';
import helmet, { type HelmetOptions } from 'helmet';

export interface SecurityHeaderOptions {
  /** HSTS_MAX_AGE_S: Strict-Transport-Security max-age (seconds); 0 = no header. */
  hstsMaxAgeS: number;
}

/**
 * The dashboard (Vite build: scripts and styles from /assets) and Swagger UI (scripts
 * from /docs/static, no inline script, validator off) both load only same-origin
 * files, so helmet's default policy fits them. Two defaults assume HTTPS and are off
 * unless HSTS is set: upgrade-insecure-requests would make a browser fetch a
 * plain-HTTP server's scripts over https (the page would not load when reached at
 * http://<lan-ip>:3000), and HSTS pins a host to HTTPS for max-age.
 */
export function securityHeaders(o: SecurityHeaderOptions): Record<string, string> {
  const https = o.hstsMaxAgeS > 0;
  const options: HelmetOptions = {
    contentSecurityPolicy: { directives: { 'upgrade-insecure-requests': https ? [] : null } },
    strictTransportSecurity: https ? { maxAge: o.hstsMaxAgeS, includeSubDomains: false } : false,
  };
  const headers: Record<string, string> = {};
  const res = {
    setHeader: (name: string, value: unknown) => void (headers[name.toLowerCase()] = String(value)),
    removeHeader: (name: string) => void delete headers[name.toLowerCase()],
  };
  let failed: unknown;
  helmet(options)({} as IncomingMessage, res as unknown as ServerResponse, (err?: unknown) => (failed = err));
  if (failed) throw failed;
  return headers;
}

export async function registerSecurityHeaders(app: FastifyInstance, o: SecurityHeaderOptions): Promise<void> {
  const headers = securityHeaders(o);
  app.addHook('onRequest', async (_req, reply) => {
    reply.headers(headers);
  });
}
