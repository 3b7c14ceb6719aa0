/**
 * What every request passes before a route sees it: a request id, the Host check
 * (DNS rebinding), CORS for configured origins only, the JSON depth limit, and the
 * identifier rule for URL text (src/lib/text.ts).
 */
import { randomUUID } from 'node:crypto';
import net from 'node:net';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AppError, badRequest } from '../lib/errors.ts';
import { BAD_TEXT_MESSAGE, hasBadText, JSON_MAX_DEPTH, jsonDepthExceeds } from '../lib/text.ts';

export interface HttpGuardOptions {
  /** HOST the server listens on; a Host header naming it is always accepted. */
  host: string;
  /** ALLOWED_HOSTS: extra host names (".example.com" also allows its subdomains); "*" turns the check off. */
  allowedHosts: readonly string[];
  /** CORS_ORIGINS: origins that get CORS headers ("*": any); empty means no CORS headers at all. */
  corsOrigins: readonly string[];
}

export const DEFAULT_GUARD_OPTIONS: HttpGuardOptions = { host: '127.0.0.1', allowedHosts: [], corsOrigins: [] };

export const genRequestId = () => randomUUID();

/** Name part of a Host header, lower-cased, without port or IPv6 brackets. */
function hostName(header: string): string {
  const h = header.trim().toLowerCase();
  if (h.startsWith('[')) return h.slice(1, h.indexOf(']') > 0 ? h.indexOf(']') : undefined);
  const colon = h.lastIndexOf(':');
  return (colon >= 0 ? h.slice(0, colon) : h).replace(/\.$/, '');
}

/**
 * DNS rebinding makes a browser send a page's own (attacker's) host name to this
 * server, so the name is what is checked; the port is not. An IP literal or
 * localhost cannot be rebound by a third party, so those always pass (as in Vite).
 */
export function isHostAllowed(header: string | undefined, o: HttpGuardOptions): boolean {
  if (o.allowedHosts.includes('*')) return true;
  // Browsers always send Host; a client without one (HTTP/1.0) is not a browser being rebound.
  if (header === undefined || header === '') return true;
  const name = hostName(header);
  if (net.isIP(name) !== 0 || name === 'localhost' || name.endsWith('.localhost')) return true;
  if (name === hostName(o.host)) return true;
  return o.allowedHosts.some((a) => {
    const entry = a.toLowerCase();
    return entry.startsWith('.') ? name === entry.slice(1) || name.endsWith(entry) : name === entry;
  });
}

export function registerGuards(app: FastifyInstance, o: HttpGuardOptions): void {
  app.addHook('onRequest', async (req: FastifyRequest, reply: FastifyReply) => {
    reply.header('x-request-id', req.id);
    if (!isHostAllowed(req.headers.host, o)) {
      throw new AppError('host_not_allowed', 'this Host is not served here; add it to ALLOWED_HOSTS if it is the address clients use', 403);
    }
    const origin = req.headers.origin;
    if (origin && (o.corsOrigins.includes(origin) || o.corsOrigins.includes('*'))) {
      reply.header('access-control-allow-origin', origin).header('vary', 'Origin');
      if (req.method === 'OPTIONS' && req.headers['access-control-request-method']) {
        return reply
          .code(204)
          .header('access-control-allow-methods', 'GET, POST, PATCH, DELETE')
          .header('access-control-allow-headers', req.headers['access-control-request-headers'] ?? 'content-type')
          .header('access-control-max-age', '600')
          .send();
      }
    }
    return undefined;
  });

  // URLs carry identifiers and filters only, never text to store: bad text is refused.
  app.addHook('preValidation', async (req: FastifyRequest) => {
    for (const [where, values] of [['params', req.params], ['querystring', req.query]] as const) {
      for (const [k, v] of Object.entries((values ?? {}) as Record<string, unknown>)) {
        const texts = Array.isArray(v) ? v : [v];
        if (texts.some((s) => typeof s === 'string' && hasBadText(s))) throw badRequest('invalid_text', `${where}.${k}: ${BAD_TEXT_MESSAGE}`);
      }
    }
  });

  // Fastify's own parser (with its prototype-poisoning checks), then the depth limit, before
  // zod or anything else walks the value: JSON.stringify overflows the stack on 10,000 levels.
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (req, body, done) => {
    parseJson(req, body as string, (err: Error | null, value?: unknown) => {
      if (err) return done(err, undefined);
      if (jsonDepthExceeds(value, JSON_MAX_DEPTH)) {
        return done(badRequest('json_too_deep', `body: JSON nested deeper than ${JSON_MAX_DEPTH} levels`), undefined);
      }
      return done(null, value);
    });
  });
}
