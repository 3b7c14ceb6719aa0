/** /api/sessions: thin handlers over SessionService. */
import { ownerFilter } from '../../auth/principal.ts';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { requestOrigin } from '../../audit/audit-log.ts';
import { LOG_STATUSES, PROJECT_TYPES, SESSION_STATUSES } from '../../sessions/types.ts';
import type { SessionCommands } from '../../runner/session-commands.ts';
import type { SessionService } from '../../sessions/service.ts';
import {
  commandLogSchema,
  createMessageBody,
  createSessionBody,
  cursorQuery,
  errorSchema,
  idParams,
  itemParams,
  limitQuery,
  messageSchema,
  pageOf,
  sessionSchema,
  turnInfoSchema,
  turnSchema,
  updateSessionBody,
} from '../schemas.ts';

const errors = { 400: errorSchema, 404: errorSchema };

export const sessionRoutes: FastifyPluginAsyncZod<{ sessions: SessionService; commands: SessionCommands }> = async (app, { sessions, commands }) => {
  app.post('/api/sessions', {
    config: { access: 'write' },
    schema: {
      tags: ['sessions'],
      summary: 'Create a session; with a prompt, start Claude Code on it',
      body: createSessionBody,
      response: { 201: sessionSchema.extend({ turn: turnInfoSchema.optional() }), 400: errorSchema, 409: errorSchema },
    },
  }, async (req, reply) => {
    const { session, turn } = await commands.create(req.principal, req.body, requestOrigin(req));
    return reply.code(201).send(turn ? { ...session, turn } : session);
  });

  app.get('/api/sessions', {
    config: { access: 'read' },
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
  }, async (req) => {
    const page = await sessions.list({ ...req.query, owner: ownerFilter(req.principal) });
    return { ...page, data: await commands.decorateAll(page.data) };
  });

  app.get('/api/sessions/:id', {
    config: { access: 'read' },
    schema: { tags: ['sessions'], summary: 'Get one session', params: idParams, response: { 200: sessionSchema, ...errors } },
  }, async (req) => commands.decorate(await sessions.get(req.params.id)));

  app.patch('/api/sessions/:id', {
    config: { access: 'write' },
    schema: {
      tags: ['sessions'],
      summary: 'Change status, claude_session_id or metadata',
      description: 'Status changes follow the allowed transitions (completed is final); a forbidden one answers 409.',
      params: idParams,
      body: updateSessionBody,
      response: { 200: sessionSchema, ...errors, 409: errorSchema },
    },
  }, async (req) => {
    return commands.update(req.principal, req.params.id, req.body, requestOrigin(req));
  });

  app.get('/api/sessions/:id/messages', {
    config: { access: 'read' },
    schema: {
      tags: ['messages'],
      summary: 'The conversation, oldest first',
      params: idParams,
      querystring: z.strictObject({ limit: limitQuery, cursor: cursorQuery }),
      response: { 200: pageOf(messageSchema), ...errors },
    },
  }, async (req) => sessions.listMessages(req.params.id, req.query.limit, req.query.cursor));

  app.get('/api/sessions/:id/messages/:item_id', {
    config: { access: 'read' },
    schema: {
      tags: ['messages'],
      summary: 'One message (live events refer to a large one by this URL)',
      params: itemParams,
      response: { 200: messageSchema, ...errors },
    },
  }, async (req) => sessions.getMessage(req.params.id, req.params.item_id));

  app.post('/api/sessions/:id/messages', {
    config: { access: 'write' },
    schema: {
      tags: ['messages'],
      summary: 'Add a message; a user message to a session the orchestrator runs starts (or queues) the next turn',
      params: idParams,
      body: createMessageBody,
      response: { 201: messageSchema.extend({ turn: turnInfoSchema.optional() }), ...errors, 409: errorSchema },
    },
  }, async (req, reply) => {
    const { message, turn } = await commands.postMessage(req.principal, req.params.id, req.body, requestOrigin(req));
    return reply.code(201).send(turn ? { ...message, turn } : message);
  });

  app.get('/api/sessions/:id/turns', {
    config: { access: 'read' },
    schema: {
      tags: ['turns'],
      summary: 'Turns the orchestrator ran (or queued), oldest first, with cost, tokens and outcome',
      params: idParams,
      querystring: z.strictObject({ limit: limitQuery, cursor: cursorQuery }),
      response: { 200: pageOf(turnSchema), ...errors },
    },
  }, async (req) => sessions.listTurns(req.params.id, req.query.limit, req.query.cursor));

  app.get('/api/sessions/:id/logs', {
    config: { access: 'read' },
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

  app.get('/api/sessions/:id/logs/:item_id', {
    config: { access: 'read' },
    schema: {
      tags: ['logs'],
      summary: 'One tool execution (live events refer to a large one by this URL)',
      params: itemParams,
      response: { 200: commandLogSchema, ...errors },
    },
  }, async (req) => sessions.getLog(req.params.id, req.params.item_id));
};
