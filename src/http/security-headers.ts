/**
 * Security headers on every answer (API, dashboard, /docs) by @fastify/helmet, with
 * its defaults (CSP default-src 'self', nosniff, frame-ancestors 'self', no referrer,
 * same-origin opener and resource policies) except where plain HTTP needs otherwise.
 */
import helmet from '@fastify/helmet';
import type { FastifyInstance } from 'fastify';

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
export async function registerSecurityHeaders(app: FastifyInstance, o: SecurityHeaderOptions): Promise<void> {
  const https = o.hstsMaxAgeS > 0;
  await app.register(helmet, {
    contentSecurityPolicy: { directives: { 'upgrade-insecure-requests': https ? [] : null } },
    strictTransportSecurity: https ? { maxAge: o.hstsMaxAgeS, includeSubDomains: false } : false,
  });
}
