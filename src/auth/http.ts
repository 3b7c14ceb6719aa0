/**
 * The authentication hook: every /api route declares what it needs
 * (config.access, src/auth/principal.ts) — a route without a rule stops the
 * server at start — and every request gets its principal before any route runs.
 * Credentials: `Authorization: Bearer <key>`, `x-api-key: <key>`, or the
 * dashboard's sign-in cookie.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { AppError } from '../lib/errors.ts';
import { ACCESS, ANONYMOUS, LOCAL_ADMIN, mayAccess, seesAll, type Access, type Principal } from './principal.ts';
import type { SessionAccess } from './session-access.ts';
import type { AuthService } from './service.ts';

export type AuthMode = 'keys' | 'off';
export const SESSION_COOKIE = 'cco_session';

export interface AuthHttpOptions {
  mode: AuthMode;
  auth: AuthService;
  /** Cookies get Secure when the public URL is https. */
  secureCookies: boolean;
}

export const unauthorized = (message: string) => new AppError('unauthorized', message, 401);
export const forbidden = (message: string) => new AppError('forbidden', message, 403);

/** The value of one cookie from a Cookie header (no other cookie is read). */
export function readCookie(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

export function sessionCookie(token: string, maxAgeS: number, secure: boolean): string {
  return `${SESSION_COOKIE}=${token}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${maxAgeS}${secure ? '; Secure' : ''}`;
}

export const clearedSessionCookie = (secure: boolean) => `${SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0${secure ? '; Secure' : ''}`;

type Credential = { kind: 'key' | 'browser'; value: string };

function credentialOf(req: FastifyRequest): Credential | undefined {
  const authz = req.headers.authorization;
  if (typeof authz === 'string' && authz !== '') {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(authz);
    // A malformed Authorization header is a wrong key, not a missing one.
    return { kind: 'key', value: m?.[1] ?? '' };
  }
  const header = req.headers['x-api-key'];
  if (typeof header === 'string' && header !== '') return { kind: 'key', value: header.trim() };
  const cookie = readCookie(req.headers.cookie, SESSION_COOKIE);
  return cookie ? { kind: 'browser', value: cookie } : undefined;
}

const isApi = (url: string) => url === '/api' || url.startsWith('/api/') || url.startsWith('/api?');

export function registerAuth(app: FastifyInstance, o: AuthHttpOptions): void {
  app.decorateRequest('principal', null as unknown as Principal);

  // A new /api route without an access rule is a startup error, not an open door.
  app.addHook('onRoute', (route) => {
    if (!isApi(route.url) || route.method === 'HEAD' || (Array.isArray(route.method) && route.method.every((m) => m === 'HEAD'))) return;
    const access = (route.config as { access?: unknown } | undefined)?.access;
    if (!ACCESS.includes(access as Access)) throw new Error(`route ${String(route.method)} ${route.url} declares no config.access (src/auth/principal.ts)`);
  });

  app.addHook('onRequest', async (req) => {
    req.principal = await authenticate(req, o);
  });
}

/**
 * Routes under /api/sessions/:id act on one session: a user that does not own it gets the
 * 404 a missing session gets. Runs after validation, so the id is a well-formed UUID.
 */
export function registerSessionScope(app: FastifyInstance, access: SessionAccess): void {
  app.addHook('preHandler', async (req) => {
    if (!req.routeOptions.url?.startsWith('/api/sessions/:id') || seesAll(req.principal)) return;
    const id = (req.params as { id?: unknown }).id;
    if (typeof id === 'string') await access.assertVisible(req.principal, id);
  });
}

/**
 * The access a request's route needs: the matched route's rule (decided by the route, not by how
 * the URL was spelled), or for an unknown /api path a key that may read (401 before 404).
 */
function accessOf(req: FastifyRequest): Access | undefined {
  const route = req.routeOptions.url;
  if (route === undefined) return isApi(req.url) ? 'read' : undefined;
  if (!isApi(route)) return undefined;
  return (req.routeOptions.config as { access?: Access } | undefined)?.access ?? 'read';
}

async function authenticate(req: FastifyRequest, o: AuthHttpOptions): Promise<Principal> {
  const access = accessOf(req);
  if (access === undefined || access === 'public') return ANONYMOUS;
  if (o.mode === 'off') return LOCAL_ADMIN;
  const cred = credentialOf(req);
  if (!cred) throw unauthorized('an API key is required: send Authorization: Bearer <key> or x-api-key: <key>, or sign in to the dashboard');
  const principal = cred.kind === 'key' ? await o.auth.authenticate(cred.value) : await o.auth.authenticateBrowser(cred.value);
  if (!principal) throw unauthorized(cred.kind === 'key' ? 'the API key is unknown, expired or revoked' : 'the sign-in has expired or was revoked; sign in again');
  if (!mayAccess(principal.role, access)) {
    // Known but not allowed: the audit entry of the refusal names the key (src/http/refused-audit.ts).
    req.principal = principal;
    throw forbidden(`a ${principal.role} key may not ${describe(access)}`);
  }
  return principal;
}

function describe(access: Access): string {
  switch (access) {
    case 'hook':
      return 'post hook events';
    case 'read':
      return 'read sessions';
    case 'write':
      return 'change sessions';
    case 'admin':
      return 'use admin routes (keys, audit)';
    default:
      return 'use this route';
  }
}
