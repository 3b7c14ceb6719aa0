/**
 * Serves the built dashboard (web/dist) at `/`. Paths the dashboard's router
 * owns (/sessions/…, /new) get index.html; /api and /docs keep their JSON 404s,
 * and so does any request that does not ask for HTML (a missing script, curl).
 */
import fs from 'node:fs';
import path from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

const API_PREFIXES = ['/api/', '/docs/'];

export function isDashboardPath(req: FastifyRequest): boolean {
  if (req.method !== 'GET' && req.method !== 'HEAD') return false;
  const p = req.url.split('?')[0] ?? '/';
  if (p === '/api' || p === '/docs' || API_PREFIXES.some((x) => p.startsWith(x))) return false;
  if (path.posix.extname(p) !== '') return false; // a file that is not there: a real 404
  return (req.headers.accept ?? '').includes('text/html');
}

export const dashboardBuilt = (webRoot: string | undefined): webRoot is string =>
  webRoot !== undefined && fs.existsSync(path.join(webRoot, 'index.html'));

/** Registers static serving when webRoot holds a build; returns whether it did. */
export async function registerDashboard(app: FastifyInstance, webRoot: string | undefined): Promise<boolean> {
  if (!dashboardBuilt(webRoot)) {
    app.get('/', { schema: { hide: true } }, async (_req, reply) =>
      reply.code(503).type('text/plain; charset=utf-8').send('The dashboard is not built. Run `npm run build:web` (npm start does it for you). The API is at /api, docs at /docs.\n'));
    return false;
  }
  await app.register(fastifyStatic, {
    root: webRoot,
    prefix: '/',
    index: ['index.html'],
    // Hashed file names under assets/ never change; index.html always revalidates.
    setHeaders(res, file) {
      res.header('cache-control', file.includes(`${path.sep}assets${path.sep}`) ? 'public, max-age=31536000, immutable' : 'no-cache');
    },
  });
  return true;
}

/** The SPA fallback used by the not-found handler. */
export function sendDashboardIndex(reply: FastifyReply): FastifyReply {
  return reply.header('cache-control', 'no-cache').sendFile('index.html');
}
