/** /api/sessions: thin handlers over SessionService. */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { LOG_STATUSES, PROJECT_TYPES, SESSION_STATUSES } from '../../sessions/types.ts';
import type { SessionService } from '../../sessions/service.ts';
import {
  commandLogSchema,
  createMessageBody,
  createSessionBody,
  cursorQuery,
  errorSchema,
  idParams,
  limitQuery,
  messageSchema,
  pageOf,
  sessionSchema,
  updateSessionBody,
} from '../schemas.ts';

const errors = { 400: errorSchema, 404: errorSchema };

export const sessionRoutes: FastifyPluginAsyncZod<{ sessions: SessionService }> = async (app, { sessions }) => {
  app.post('/api/sessions', {
    schema: { tags: ['sessions'], summary: 'Create a session', body: createSessionBody, response: { 201: sessionSchema, 400: errorSchema, 409: errorSchema } },
  }, async (req, reply) => {
    const session = await sessions.create(req.body);
    return reply.code(201).send(session);
  });

  app.get('/api/sessions', {
    schema: {
      tags: ['sessions'],
      summary: 'List sessions, most recently active first',
      querystring: z.strictObject({
        limit: limitQuery,
        cursor: cursorQuery,
        status: z.enum(SESSION_STATUSES).optional(),
        project_type: z.enum(PROJECT_TYPES).optional(),
        q: z.string().max(200).optional().describe('Case-insensitive text in project_path or metadata (blank: no filter).'),
      }),
      response: { 200: pageOf(sessionSchema), 400: errorSchema },
    },
  }, async (req) => sessions.list(req.query));

  app.get('/api/sessions/:id', {
    schema: { tags: ['sessions'], summary: 'Get one session', params: idParams, response: { 200: sessionSchema, ...errors } },
  }, async (req) => sessions.get(req.params.id));

  app.patch('/api/sessions/:id', {
    schema: {
      tags: ['sessions'],
      summary: 'Change status, claude_session_id or metadata',
      description: 'Status changes follow the allowed transitions (completed is final); a forbidden one answers 409.',
      params: idParams,
      body: updateSessionBody,
      response: { 200: sessionSchema, ...errors, 409: errorSchema },
    },
  }, async (req) => (await sessions.update(req.params.id, req.body)).session);

  app.get('/api/sessions/:id/messages', {
    schema: {
      tags: ['messages'],
      summary: 'The conversation, oldest first',
      params: idParams,
      querystring: z.strictObject({ limit: limitQuery, cursor: cursorQuery }),
      response: { 200: pageOf(messageSchema), ...errors },
    },
  }, async (req) => sessions.listMessages(req.params.id, req.query.limit, req.query.cursor));

  app.post('/api/sessions/:id/messages', {
    schema: {
      tags: ['messages'],
      summary: 'Add a message to the conversation',
      params: idParams,
      body: createMessageBody,
      response: { 201: messageSchema, ...errors },
    },
  }, async (req, reply) => reply.code(201).send(await sessions.addMessage(req.params.id, req.body)));

  app.get('/api/sessions/:id/logs', {
    schema: {
      tags: ['logs'],
      summary: 'Tool executions, oldest first',
      params: idParams,
      querystring: z.strictObject({
        limit: limitQuery,
        cursor: cursorQuery,
        tool: z.string().min(1).max(100).optional(),
        status: z.enum(LOG_STATUSES).optional(),
      }),
      response: { 200: pageOf(commandLogSchema), ...errors },
    },
  }, async (req) => sessions.listLogs(req.params.id, req.query));
};
