/** /api/sessions: thin handlers over SessionService. */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { requestOrigin } from '../../audit/audit-log.ts';
import { LOG_STATUSES } from '../../sessions/types.ts';
import type { SessionCommands } from '../../runner/session-commands.ts';
import type { SessionService } from '../../sessions/service.ts';
import type { RunWait } from '../run-wait.ts';
import type { SessionSearch } from '../../sessions/search.ts';
import { searchText, sessionFilterShape, toSessionFilter } from '../session-filters.ts';
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
  searchHitSchema,
  sessionSchema,
  startedTurnSchema,
  turnParams,
  turnResultSchema,
  turnSchema,
  updateSessionBody,
} from '../schemas.ts';

const errors = { 400: errorSchema, 404: errorSchema };

const RUN_WAIT_NOTE =
  'With `wait` (seconds, up to WAIT_MAX_S) the answer comes when the turn ends: 201 with `turn` holding its status, answer, cost and duration; ' +
  'if the time runs out first, 202 with the same shape and `turn.wait_url` to wait again. With an Idempotency-Key header, a repeat of the request ' +
  '(same key, same body; 24 h) gets the first answer (Idempotent-Replayed: true) and runs nothing again; the same key with another body is 422 idempotency_key_reused; ' +
  'while the first request has not made anything yet, 409 idempotency_key_in_progress.';
const idempotencyHeader = z.looseObject({ 'idempotency-key': z.string().optional().describe('Any unique string (e.g. a UUID), 1-255 printable characters.') });
const SEARCH_NOTE =
  'Filters combine (and). With q, the sessions whose messages or tool inputs/results contain the words come best match first (ts_rank of the best match), ' +
  'each with `search.snippet`: plain text and `highlights`, [start, end) offsets of the matched words. Search pages follow next_cursor too; ' +
  'for a word found in very many rows, the ranking is among the first 400 matching messages and 400 matching logs.';
const startedSession = sessionSchema.extend({ turn: startedTurnSchema.optional() });
const startedMessage = messageSchema.extend({ turn: startedTurnSchema.optional() });

export const sessionRoutes: FastifyPluginAsyncZod<{ sessions: SessionService; commands: SessionCommands; runWait: RunWait; search: SessionSearch }> = async (app, { sessions, commands, runWait, search }) => {
  app.post('/api/sessions', {
    config: { access: 'write' },
    schema: {
      tags: ['sessions'],
      summary: 'Create a session; with a prompt, start Claude Code on it',
      description: RUN_WAIT_NOTE,
      headers: idempotencyHeader,
      body: createSessionBody,
      response: { 201: startedSession, 202: startedSession, 400: errorSchema, 409: errorSchema, 422: errorSchema },
    },
  }, async (req, reply) => runWait.createSession(req, reply, req.body));

  app.get('/api/sessions', {
    config: { access: 'read' },
    schema: {
      tags: ['sessions'],
      summary: 'List sessions, most recently active first; with q, full-text search, best match first',
      description: SEARCH_NOTE,
      querystring: z.strictObject({ limit: limitQuery, cursor: cursorQuery, ...sessionFilterShape }),
      response: { 200: pageOf(sessionSchema.extend({ search: searchHitSchema.optional() })), 400: errorSchema },
    },
  }, async (req) => {
    const { limit, cursor } = req.query;
    const filter = toSessionFilter(req.query, req.principal);
    const text = searchText(req.query);
    const page = text ? await search.search(text, filter, limit, cursor) : await sessions.list({ limit, cursor, filter });
    // decorateAll keeps each object's other fields (a search hit's `search`).
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
      description: RUN_WAIT_NOTE,
      headers: idempotencyHeader,
      params: idParams,
      body: createMessageBody,
      response: { 201: startedMessage, 202: startedMessage, ...errors, 409: errorSchema, 422: errorSchema },
    },
  }, async (req, reply) => runWait.postMessage(req, reply, req.params.id, req.body));

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

  app.get('/api/sessions/:id/turns/:turn', {
    config: { access: 'read' },
    schema: {
      tags: ['turns'],
      summary: 'One turn with its outcome and answer; with ?wait=N, answered when it ends',
      description: 'Without wait: 200 with the turn as it is. With wait (seconds, up to WAIT_MAX_S): 200 once the turn has ended, or 202 with the turn as it is when the time runs out.',
      params: turnParams,
      querystring: z.strictObject({ wait: z.coerce.number().int().min(0).optional().describe('Seconds to wait for the turn to end (up to WAIT_MAX_S).') }),
      response: { 200: turnResultSchema, 202: turnResultSchema, ...errors },
    },
  }, async (req, reply) => runWait.getTurn(req, reply, req.params.id, req.params.turn, req.query.wait));

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
