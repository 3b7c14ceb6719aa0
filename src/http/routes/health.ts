import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Database } from '../../db/database.ts';

const healthSchema = z.object({
  status: z.enum(['ok', 'degraded']),
  database: z.object({ backend: z.enum(['postgres', 'embedded']), ok: z.boolean() }),
  version: z.string(),
  uptime_s: z.number(),
});

export const healthRoutes: FastifyPluginAsyncZod<{ database: Database; version: string }> = async (app, { database, version }) => {
  app.get('/api/health', {
    config: { access: 'public' },
    schema: { tags: ['system'], summary: 'Liveness and database reachability', response: { 200: healthSchema, 503: healthSchema } },
  }, async (_req, reply) => {
    const ok = await database.ping();
    const body = { status: ok ? ('ok' as const) : ('degraded' as const), database: { backend: database.backend, ok }, version, uptime_s: Math.round(process.uptime()) };
    return reply.code(ok ? 200 : 503).send(body);
  });
};
