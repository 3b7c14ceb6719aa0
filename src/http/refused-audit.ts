/**
 * Records every refused request (401, 403, 429) in the audit log: probing and
 * brute-forcing show up there. The URL keeps its path and query parameter names
 * but not their values (a token in a query string must not reach the log).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { auditContext, type AuditLog } from '../audit/audit-log.ts';

const REFUSED = new Set([401, 403, 429]);
const MAX_URL_CHARS = 500;

/** "/api/x?token=abc&limit=5" -> "/api/x?token=&limit=" */
export function urlWithoutQueryValues(url: string): string {
  const q = url.indexOf('?');
  const path = q < 0 ? url : url.slice(0, q);
  const names = q < 0 ? [] : url.slice(q + 1).split('&').filter(Boolean).map((p) => `${p.split('=')[0]}=`);
  const out = names.length ? `${path}?${names.join('&')}` : path;
  return out.length > MAX_URL_CHARS ? `${out.slice(0, MAX_URL_CHARS)}…` : out;
}

export function registerRefusalAudit(app: FastifyInstance, audit: AuditLog): void {
  app.addHook('onResponse', async (req: FastifyRequest, reply: FastifyReply) => {
    if (!REFUSED.has(reply.statusCode)) return;
    audit.record({
      ...auditContext(req),
      action: 'request.refused',
      detail: { method: req.method, url: urlWithoutQueryValues(req.url), status: reply.statusCode },
    });
  });
}
