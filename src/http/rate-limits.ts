/**
 * Abuse limits (@fastify/rate-limit, in-memory, one-minute windows): API requests per
 * key or address, a separate and much larger budget for hook events (one Claude Code
 * session posts several per tool call), and a budget of failed sign-ins (401) per address.
 * Health, /docs and the dashboard's files are not counted. Over a budget: 429
 * rate_limited with Retry-After, through the app's error handler.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import rateLimit, { normalizeIP } from '@fastify/rate-limit';
import type { Principal } from '../auth/principal.ts';
import { AppError } from '../lib/errors.ts';

export interface RateLimitOptions {
  /** RATE_LIMIT_PER_MIN: API requests per key (or address without one) per minute; 0 = no limit. */
  perMin: number;
  /** RATE_LIMIT_HOOKS_PER_MIN: the same for /api/hooks/*, counted apart; 0 = no limit. */
  hooksPerMin: number;
  /** AUTH_FAILURES_PER_MIN: 401 answers per address per minute before that address gets 429s; 0 = no limit. */
  authFailuresPerMin: number;
}

export const DEFAULT_RATE_LIMITS: RateLimitOptions = { perMin: 600, hooksPerMin: 60_000, authFailuresPerMin: 30 };
export const NO_RATE_LIMITS: RateLimitOptions = { perMin: 0, hooksPerMin: 0, authFailuresPerMin: 0 };

const WINDOW_MS = 60_000;
/** Clients remembered at once (least recently seen leave first); each entry is a few dozen bytes. */
const CLIENTS_TRACKED = 20_000;

export type Bucket = 'api' | 'hooks';

/**
 * Which budget a route draws on, from its route pattern; undefined = not counted
 * (health checks, /docs, the dashboard's files, the OpenAPI document).
 */
export function bucketOf(routeUrl: string | undefined): Bucket | undefined {
  if (routeUrl === undefined || !routeUrl.startsWith('/api/')) return undefined;
  if (routeUrl === '/api/health' || routeUrl === '/api/openapi.json') return undefined;
  return routeUrl.startsWith('/api/hooks/') ? 'hooks' : 'api';
}

/**
 * Who is counted: the API key when the request carries one (so a key is limited
 * wherever it is used from), else the client address; IPv6 addresses by /64, as one
 * host usually holds a whole /64. The principal may be unset (auth not run or off).
 */
export function clientKey(req: { ip: string; principal?: Principal | null | undefined }): string {
  const keyId = req.principal?.keyId;
  return keyId !== undefined ? `key:${keyId}` : `addr:${normalizeIP(req.ip)}`;
}

const rateLimited = (after: string) => new AppError('rate_limited', `too many requests; retry in ${after}`, 429);

/**
 * Must be registered before the routes (the plugin adds its check to each route as it
 * is declared). The per-route check is a route-level onRequest hook, and Fastify runs
 * route-level hooks after every app-level onRequest hook, so it sees the principal the
 * auth hook set whatever order the two are registered in. The failed-sign-in check is
 * app-level: register it before the auth hook so it refuses before auth runs.
 */
export async function registerRateLimits(app: FastifyInstance, o: RateLimitOptions): Promise<void> {
  if (o.perMin === 0 && o.hooksPerMin === 0 && o.authFailuresPerMin === 0) return;
  const budget = (b: Bucket) => (b === 'hooks' ? o.hooksPerMin : o.perMin);
  const bucket = (req: FastifyRequest) => bucketOf(req.routeOptions.url);
  await app.register(rateLimit, {
    global: o.perMin > 0 || o.hooksPerMin > 0,
    hook: 'onRequest',
    timeWindow: WINDOW_MS,
    cache: CLIENTS_TRACKED,
    keyGenerator: (req) => `${bucket(req) ?? 'none'} ${clientKey(req)}`,
    max: async (req) => {
      const b = bucket(req);
      return b ? budget(b) : 0;
    },
    allowList: (req) => {
      const b = bucket(req);
      return b === undefined || budget(b) === 0;
    },
    errorResponseBuilder: (_req, ctx) => rateLimited(ctx.after),
  });
  if (o.authFailuresPerMin > 0) registerAuthFailureLimit(app, o.authFailuresPerMin);
}

/**
 * Guessing keys costs one 401 each; an address that collected `max` of them in a
 * window gets 429 for everything until the window ends. Counted per address, never
 * per key: a failed request has no key.
 */
function registerAuthFailureLimit(app: FastifyInstance, max: number): void {
  const failures = app.createRateLimit({
    max,
    timeWindow: WINDOW_MS,
    keyGenerator: (req) => `auth-failures addr:${normalizeIP(req.ip)}`,
    allowList: [],
  });
  app.addHook('onRequest', async (req, reply) => {
    const r = await failures(req, { increment: false });
    if (!r.isAllowed && r.remaining === 0) {
      void reply.header('retry-after', r.ttlInSeconds);
      throw rateLimited(`${r.ttlInSeconds} seconds`);
    }
  });
  app.addHook('onResponse', async (req, reply) => {
    if (reply.statusCode === 401) await failures(req);
  });
}
