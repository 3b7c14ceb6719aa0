/** GET /api/events: the live event stream (Server-Sent Events). See src/http/sse.ts for the format. */
import { ownerFilter } from '../../auth/principal.ts';
import type { SessionAccess } from '../../auth/session-access.ts';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { errorSchema, uuidParam } from '../schemas.ts';
import { parseSince, type SseStreams } from '../sse.ts';

/** Seconds a client refused for lack of room waits; streams end when tabs close or go hidden. */
const RETRY_AFTER_S = 5;

export const eventRoutes: FastifyPluginAsyncZod<{ streams: SseStreams; access: SessionAccess }> = async (app, { streams, access }) => {
  app.get('/api/events', {
    config: { access: 'read' },
    schema: {
      tags: ['events'],
      summary: 'Live events (Server-Sent Events)',
      description:
        'A text/event-stream of session.created, session.updated, message.created, log.created and session_event.created events, ' +
        'each with `id: <xid>.<seq>`, its position in one order shared by every server process and kept across restarts. ' +
        'Reconnect with Last-Event-ID (or ?since=<id>), to any server process, to replay what was missed; when that is older than LIVE_EVENTS_RETENTION_S, or an id of an older format, a `reset` event says to refetch. ' +
        'A `ready` event follows the replay; `heartbeat` events keep idle connections open. ' +
        'An event larger than SSE_EVENT_MAX_BYTES arrives as a reference: its item cut to identifying fields, `truncated: true` and the `url` to GET the whole item. ' +
        'Beyond SSE_MAX_STREAMS open streams the answer is 503 with Retry-After.',
      querystring: z.strictObject({
        since: z
          .string()
          .regex(/^(([0-9a-f]{8}-)?\d{1,15}|\d{1,20}\.\d{1,19})$/, 'must be an event id (<xid>.<seq>)')
          .optional()
          .describe('Replay events after this event id (Last-Event-ID takes precedence); one too old, or of an older format, gets `reset`.'),
        session_id: uuidParam.optional().describe('Only events of this session.'),
      }),
      response: { 400: errorSchema, 503: errorSchema },
    },
  }, async (req, reply) => {
    if (!streams.hasRoom) {
      // Each stream holds a socket and up to one piece of buffered events; the cap bounds both.
      return reply
        .code(503)
        .header('retry-after', String(RETRY_AFTER_S))
        .send({ error: { code: 'too_many_streams', message: 'too many open event streams; retry later (SSE_MAX_STREAMS)' } });
    }
    // A user's stream carries its own sessions only; asking for another owner's session is a 404.
    if (req.query.session_id) await access.assertVisible(req.principal, req.query.session_id);
    reply.hijack();
    streams.open(req.raw, reply.raw, { since: parseSince(req.headers['last-event-id'], req.query.since), sessionId: req.query.session_id, owner: ownerFilter(req.principal) });
  });
};
