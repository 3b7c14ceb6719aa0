/** Who am I, dashboard sign-in and sign-out, one-time sign-in links, and admin key management. */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { clearedSessionCookie, readCookie, SESSION_COOKIE, sessionCookie, unauthorized, type AuthMode } from '../../auth/http.ts';
import { ROLES } from '../../auth/principal.ts';
import type { AuthService } from '../../auth/service.ts';
import { auditContext, type AuditLog } from '../../audit/audit-log.ts';
import { badRequest } from '../../lib/errors.ts';
import { errorSchema, uuidParam } from '../schemas.ts';

const meSchema = z.object({
  name: z.string(),
  role: z.enum(ROLES),
  owner: z.string().describe('The owner recorded on sessions this caller creates.'),
  auth: z.enum(['keys', 'off']).describe('off: the server runs without keys (loopback only) and everyone is admin.'),
});

export const keySchema = z.object({
  id: z.string(),
  name: z.string(),
  role: z.enum(ROLES),
  owner: z.string(),
  prefix: z.string().describe('The first characters of the key, to tell keys apart.'),
  created_at: z.string(),
  created_by: z.string().nullable(),
  expires_at: z.string().nullable(),
  revoked_at: z.string().nullable(),
  last_used_at: z.string().nullable().describe('Updated within about 10 seconds of use.'),
});

const errors = { 400: errorSchema, 401: errorSchema, 403: errorSchema };

export const authRoutes: FastifyPluginAsyncZod<{ auth: AuthService; mode: AuthMode; secureCookies: boolean; audit: AuditLog }> = async (app, { auth, mode, secureCookies, audit }) => {
  app.get('/api/me', {
    config: { access: 'any' },
    schema: { tags: ['auth'], summary: 'The caller: name and role of its key', response: { 200: meSchema, 401: errorSchema } },
  }, async (req) => ({ name: req.principal.name, role: req.principal.role, owner: req.principal.owner, auth: mode }));

  app.post('/api/auth/signin', {
    config: { access: 'public' },
    schema: {
      tags: ['auth'],
      summary: 'Sign the dashboard in with a key: sets an HttpOnly, SameSite=Strict session cookie',
      body: z.strictObject({ key: z.string().min(1).max(200) }),
      response: { 200: meSchema, ...errors },
    },
  }, async (req, reply) => {
    const signed = await auth.browserSignIn(req.body.key.trim());
    if (!signed) throw unauthorized('the API key is unknown, expired or revoked');
    req.principal = signed.principal;
    audit.record({ ...auditContext(req), action: 'auth.signin', target: `key:${signed.principal.keyId}`, detail: { via: 'key' } });
    const p = signed.principal;
    return reply.header('set-cookie', sessionCookie(signed.token, signed.maxAgeS, secureCookies)).send({ name: p.name, role: p.role, owner: p.owner, auth: mode });
  });

  app.post('/api/auth/signout', {
    config: { access: 'public' },
    schema: { tags: ['auth'], summary: 'Sign the dashboard out (ends its cookie session)', response: { 204: z.null() } },
  }, async (req, reply) => {
    const token = readCookie(req.headers.cookie, SESSION_COOKIE);
    if (token) {
      const who = await auth.authenticateBrowser(token);
      await auth.signOut(token);
      if (who) audit.record({ ...auditContext(req), actor: who, action: 'auth.signout', target: `key:${who.keyId}` });
    }
    return reply.code(204).header('set-cookie', clearedSessionCookie(secureCookies)).send(null);
  });

  app.get('/api/auth/link', {
    config: { access: 'public' },
    schema: {
      tags: ['auth'],
      summary: 'A one-time sign-in link (printed at first start): signs the browser in and opens the dashboard',
      querystring: z.strictObject({ code: z.string().min(1).max(200) }),
      response: { 302: z.null(), 400: errorSchema },
    },
  }, async (req, reply) => {
    const signed = await auth.signInWithCode(req.query.code);
    // A used or expired link lands on the sign-in page with a reason, not on a JSON error.
    if (!signed) return reply.redirect('/signin?error=link_expired', 302);
    req.principal = signed.principal;
    audit.record({ ...auditContext(req), action: 'auth.signin', target: `key:${signed.principal.keyId}`, detail: { via: 'link' } });
    return reply.header('set-cookie', sessionCookie(signed.token, signed.maxAgeS, secureCookies)).redirect('/', 302);
  });

  app.post('/api/keys', {
    config: { access: 'admin' },
    schema: {
      tags: ['auth'],
      summary: 'Create a key (admin); the key itself is in this answer only',
      body: z.strictObject({
        name: z.string().min(1).max(100),
        role: z.enum(ROLES),
        expires_at: z.iso.datetime({ offset: true }).optional().describe('ISO date-time; unset: never expires.'),
        owner: z.string().min(1).max(100).optional().describe('Hook tokens: whose sessions their events make (default: the name).'),
      }),
      response: { 201: keySchema.extend({ key: z.string() }), ...errors, 409: errorSchema },
    },
  }, async (req, reply) => {
    const expiresAt = req.body.expires_at === undefined ? undefined : new Date(req.body.expires_at);
    if (expiresAt && expiresAt.getTime() <= Date.now()) throw badRequest('invalid_expiry', 'body.expires_at: must be in the future');
    const { key, info } = await auth.createKey({ name: req.body.name, role: req.body.role, expiresAt, owner: req.body.owner, createdBy: req.principal.name });
    audit.record({ ...auditContext(req), action: 'key.created', target: `key:${info.id}`, detail: { name: info.name, role: info.role, prefix: info.prefix } });
    return reply.code(201).send({ ...info, key });
  });

  app.get('/api/keys', {
    config: { access: 'admin' },
    schema: {
      tags: ['auth'],
      summary: 'Keys (admin): name, role, prefix, dates; never the key',
      querystring: z.strictObject({ revoked: z.stringbool().optional().describe('true: revoked keys too.') }),
      response: { 200: z.object({ data: z.array(keySchema) }), ...errors },
    },
  }, async (req) => ({ data: await auth.listKeys({ revoked: req.query.revoked ?? false }) }));

  app.delete('/api/keys/:id', {
    config: { access: 'admin' },
    schema: {
      tags: ['auth'],
      summary: 'Revoke a key (admin); its requests and dashboard sign-ins stop within seconds',
      params: z.object({ id: uuidParam }),
      response: { 200: keySchema, ...errors, 404: errorSchema, 409: errorSchema },
    },
  }, async (req) => {
    const info = await auth.revokeById(req.params.id);
    audit.record({ ...auditContext(req), action: 'key.revoked', target: `key:${info.id}`, detail: { name: info.name, role: info.role, prefix: info.prefix } });
    return info;
  });
};
