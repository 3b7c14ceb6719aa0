/** GET /api/sessions/:id/events: the session's non-tool hook events, oldest first. */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { HOOK_EVENTS } from '../../hooks/events.ts';
import type { HookIngest } from '../../hooks/ingest.ts';
import { cursorQuery, errorSchema, idParams, itemParams, limitQuery, pageOf, sessionEventSchema } from '../schemas.ts';

export const sessionEventRoutes: FastifyPluginAsyncZod<{ hooks: HookIngest }> = async (app, { hooks }) => {
  app.get('/api/sessions/:id/events', {
    config: { access: 'read' },
    schema: {
      tags: ['sessions'],
      summary: 'Hook events of the session (SessionStart, SessionEnd, Notification, PreCompact, SubagentStop, UserPromptSubmit, Stop), oldest first',
      params: idParams,
      querystring: z.strictObject({ limit: limitQuery, cursor: cursorQuery, event: z.enum(HOOK_EVENTS).optional() }),
      response: { 200: pageOf(sessionEventSchema), 400: errorSchema, 404: errorSchema },
    },
  }, async (req) => hooks.listEvents(req.params.id, req.query));

  app.get('/api/sessions/:id/events/:item_id', {
    config: { access: 'read' },
    schema: {
      tags: ['sessions'],
      summary: 'One hook event of the session (live events refer to a large one by this URL)',
      params: itemParams,
      response: { 200: sessionEventSchema, 400: errorSchema, 404: errorSchema },
    },
  }, async (req) => hooks.getEvent(req.params.id, req.params.item_id));
};
