/** /api/audit: the audit log, newest first (admin only). */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { AuditLog } from '../../audit/audit-log.ts';
import { badRequest } from '../../lib/errors.ts';
import { cursorQuery, errorSchema, limitQuery, metadataSchema, pageOf } from '../schemas.ts';

export const auditEntrySchema = z.object({
  id: z.number(),
  at: z.string(),
  actor: z.string(),
  actor_role: z.string(),
  actor_key_id: z.string().nullable(),
  action: z.string(),
  target: z.string().nullable(),
  address: z.string().nullable(),
  request_id: z.string().nullable(),
  detail: metadataSchema,
});

const time = z.iso.datetime({ offset: true });

export const auditRoutes: FastifyPluginAsyncZod<{ audit: AuditLog }> = async (app, { audit }) => {
  app.get('/api/audit', {
    config: { access: 'admin' },
    schema: {
      tags: ['audit'],
      summary: 'The audit log, newest first: changes, sign-ins and refused requests',
      querystring: z.strictObject({
        limit: limitQuery,
        cursor: cursorQuery,
        actor: z.string().min(1).max(200).optional().describe('Key name (or "anonymous", "local", "system").'),
        action: z.string().min(1).max(100).optional().describe('e.g. session.created, request.refused.'),
        target: z.string().min(1).max(300).optional().describe('e.g. session:<uuid>, key:<id>.'),
        from: time.optional().describe('ISO 8601 time; entries at or after it.'),
        to: time.optional().describe('ISO 8601 time; entries before it.'),
      }),
      response: { 200: pageOf(auditEntrySchema), 400: errorSchema, 401: errorSchema, 403: errorSchema },
    },
  }, async (req) => {
    const { from, to, ...rest } = req.query;
    const range = { from: from ? new Date(from) : undefined, to: to ? new Date(to) : undefined };
    if (range.from && range.to && range.from > range.to) throw badRequest('invalid_time_range', 'from must not be after to');
    return audit.list({ ...rest, ...range });
  });
};
