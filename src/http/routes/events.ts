/** GET /api/events: the live event stream (Server-Sent Events). See src/http/sse.ts for the format. */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { errorSchema, uuidParam } from '../schemas.ts';
import { parseSince, type SseStreams } from '../sse.ts';

export const eventRoutes: FastifyPluginAsyncZod<{ streams: SseStreams }> = async (app, { streams }) => {
  app.get('/api/events', {
    schema: {
      tags: ['events'],
      summary: 'Live events (Server-Sent Events)',
      description:
        'A text/event-stream of session.created, session.updated, message.created and log.created events, each with `id:` = seq. ' +
        'Reconnect with Last-Event-ID (or ?since=seq) to replay what was missed; when that is too old a `reset` event says to refetch. ' +
        'A `ready` event follows the replay; `heartbeat` events keep idle connections open.',
      querystring: z.strictObject({
        since: z.coerce.number().int().min(0).optional().describe('Replay events after this seq (Last-Event-ID takes precedence).'),
        session_id: uuidParam.optional().describe('Only events of this session.'),
      }),
      response: { 400: errorSchema },
    },
  }, async (req, reply) => {
    reply.hijack();
    streams.open(req.raw, reply.raw, { since: parseSince(req.headers['last-event-id'], req.query.since), sessionId: req.query.session_id });
  });
};
