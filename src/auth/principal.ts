/**
 * Who is asking: every request under AUTH=keys carries the principal of the key
 * (or dashboard sign-in) that authenticated it; under AUTH=off, LOCAL_ADMIN.
 * Services take a principal, not a request, so Slack, n8n and schedules act
 * through the same rules as the API.
 */
import { AppError } from '../lib/errors.ts';

export const ROLES = ['admin', 'user', 'viewer', 'hook'] as const;
export type Role = (typeof ROLES)[number];

export interface Principal {
  /** The api_keys row id; undefined for LOCAL_ADMIN and the server's own work. */
  keyId: string | undefined;
  /** The key's name: recorded as a session's owner and as the audit actor. */
  name: string;
  role: Role;
  /** For hook tokens: whose sessions the hook events make (the installing user); else the key's name. */
  owner: string;
}

/** AUTH=off (loopback only): everyone is this admin. */
export const LOCAL_ADMIN: Principal = Object.freeze({ keyId: undefined, name: 'local', role: 'admin', owner: 'local' });

/** Requests to public routes (health, OpenAPI, sign-in) and the dashboard's files. */
export const ANONYMOUS: Principal = Object.freeze({ keyId: undefined, name: 'anonymous', role: 'viewer', owner: 'anonymous' });

/** The server itself (recovery, schedules before they act as a key holder). */
export const SYSTEM: Principal = Object.freeze({ keyId: undefined, name: 'system', role: 'admin', owner: 'system' });

/**
 * What a route needs. public: no key; any: any key (GET /api/me); hook: hook events (hook, user, admin);
 * read: reading sessions (viewer, user for its own, admin); write: changing them
 * (user for its own, admin); admin: keys, audit and settings.
 */
export const ACCESS = ['public', 'any', 'hook', 'read', 'write', 'admin'] as const;
export type Access = (typeof ACCESS)[number];

const ALLOWED: Record<Access, readonly Role[]> = {
  public: ['admin', 'user', 'viewer', 'hook'],
  any: ['admin', 'user', 'viewer', 'hook'],
  hook: ['admin', 'user', 'hook'],
  read: ['admin', 'user', 'viewer'],
  write: ['admin', 'user'],
  admin: ['admin'],
};

export function mayAccess(role: Role, access: Access): boolean {
  return ALLOWED[access].includes(role);
}

/** Sees every session (admin, viewer) or only its own (user). */
export function seesAll(p: Principal): boolean {
  return p.role === 'admin' || p.role === 'viewer';
}

/** The owner filter for lists and streams: undefined = every session. */
export function ownerFilter(p: Principal): string | undefined {
  return seesAll(p) ? undefined : p.owner;
}

/**
 * May this principal change a session with this owner? Admins any; users their own
 * (another's is a 404: its existence is not revealed); viewers and hook tokens none (403).
 */
export function checkMayChange(p: Principal, owner: string | null, sessionId: string): void {
  if (p.role === 'admin') return;
  if (p.role === 'user') {
    if (owner !== null && owner === p.owner) return;
    throw new AppError('not_found', `session ${sessionId} does not exist`, 404);
  }
  throw new AppError('forbidden', `a ${p.role} key may not change sessions`, 403);
}

/** Settings that widen what Claude Code may do on the host are for admins only. */
export function checkAdminOption(p: Principal, field: string, what: string): void {
  if (p.role !== 'admin') throw new AppError('forbidden', `${field}: ${what} is for admin keys only`, 403);
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the auth hook before any route runs (LOCAL_ADMIN under AUTH=off). */
    principal: Principal;
  }
  interface FastifyContextConfig {
    /** What the route needs (src/auth/principal.ts); every /api route must say. */
    access?: Access;
  }
}
