/** /api/schedules: sessions started at cron times as their owner (src/schedules/), and GET /api/usage. */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { requestOrigin } from '../../audit/audit-log.ts';
import { ownerFilter } from '../../auth/principal.ts';
import type { Database } from '../../db/database.ts';
import { usageBy } from '../../db/queries/usage.ts';
import { badRequest } from '../../lib/errors.ts';
import { MISSED_POLICIES, SCHEDULE_STATUSES, type ScheduleService } from '../../schedules/service.ts';
import { createSessionBody, errorSchema, idParams, limitQuery, metadataSchema } from '../schemas.ts';

const errors = { 400: errorSchema, 403: errorSchema, 404: errorSchema };

/** What each run creates: the body of POST /api/sessions, with a prompt and without wait. */
export const scheduleTemplate = createSessionBody
  .omit({ wait: true, claude_session_id: true, source: true })
  .extend({ prompt: z.string().min(1).max(100_000).describe('The prompt of each run.') });

const scheduleSchema = z.object({
  id: z.string(),
  name: z.string(),
  owner: z.string(),
  cron: z.string(),
  timezone: z.string(),
  template: metadataSchema,
  missed: z.enum(MISSED_POLICIES),
  status: z.enum(SCHEDULE_STATUSES),
  next_run_at: z.string().nullable().describe('When the next run is due (null while paused).'),
  next_runs: z.array(z.string()).describe('The next few run times, next_run_at first.'),
  last_run_at: z.string().nullable(),
  created_at: z.string(),
  updated_at: z.string(),
});

const runSchema = z.object({
  id: z.number(),
  schedule_id: z.string(),
  scheduled_for: z.string(),
  session_id: z.string(),
  state: z.enum(['claimed', 'started', 'failed']),
  error: z.string().nullable(),
  catch_up: z.boolean().describe('The one run made for times missed while no server ran (missed: run_once).'),
  created_at: z.string(),
});

const fields = {
  name: z.string().trim().min(1).max(200),
  cron: z.string().min(1).max(200).describe('Five fields: minute hour day-of-month month day-of-week, e.g. "0 9 * * 1-5".'),
  timezone: z.string().min(1).max(100).describe('IANA time zone the cron times are in, e.g. Europe/Berlin.'),
  template: scheduleTemplate,
  missed: z.enum(MISSED_POLICIES).describe('After downtime (a due time older than SCHEDULE_MISSED_GRACE_S): skip it, or run once for all the missed times.'),
  status: z.enum(SCHEDULE_STATUSES),
};

const createBody = z.strictObject({ ...fields, timezone: fields.timezone.default('UTC'), missed: fields.missed.default('skip'), status: fields.status.optional() });
const updateBody = z
  .strictObject({ name: fields.name.optional(), cron: fields.cron.optional(), timezone: fields.timezone.optional(), template: fields.template.optional(), missed: fields.missed.optional(), status: fields.status.optional().describe('paused: no runs; active: runs again from its next time (missed ones are not made up).') })
  .refine((b) => Object.keys(b).length > 0, { message: 'give at least one field to change' });

const usageRow = z.object({ key: z.string().nullable(), cost_usd: z.number(), input_tokens: z.number(), output_tokens: z.number(), turns: z.number(), sessions: z.number() });
const DAY_MS = 86_400_000;

export const scheduleRoutes: FastifyPluginAsyncZod<{ schedules: ScheduleService; database: Database }> = async (app, { schedules, database }) => {
  app.post('/api/schedules', {
    config: { access: 'write' },
    schema: { tags: ['schedules'], summary: 'Create a schedule; its runs are sessions owned by the caller', body: createBody, response: { 201: scheduleSchema, ...errors } },
  }, async (req, reply) => reply.code(201).send(await schedules.create(req.principal, req.body, requestOrigin(req))));

  app.get('/api/schedules', {
    config: { access: 'read' },
    schema: { tags: ['schedules'], summary: 'Schedules (a user key: its own), oldest first, with their next run times', querystring: z.strictObject({ limit: limitQuery }), response: { 200: z.object({ data: z.array(scheduleSchema) }), ...errors } },
  }, async (req) => ({ data: await schedules.list(req.principal, req.query.limit) }));

  app.get('/api/schedules/:id', {
    config: { access: 'read' },
    schema: { tags: ['schedules'], summary: 'One schedule', params: idParams, response: { 200: scheduleSchema, ...errors } },
  }, async (req) => schedules.get(req.principal, req.params.id));

  app.patch('/api/schedules/:id', {
    config: { access: 'write' },
    schema: { tags: ['schedules'], summary: 'Pause, resume or change a schedule', params: idParams, body: updateBody, response: { 200: scheduleSchema, ...errors } },
  }, async (req) => schedules.update(req.principal, req.params.id, req.body, requestOrigin(req)));

  app.delete('/api/schedules/:id', {
    config: { access: 'write' },
    schema: { tags: ['schedules'], summary: 'Delete a schedule (the sessions of its runs stay)', params: idParams, response: { 204: z.null(), ...errors } },
  }, async (req, reply) => {
    await schedules.delete(req.principal, req.params.id, requestOrigin(req));
    return reply.code(204).send(null);
  });

  app.get('/api/schedules/:id/runs', {
    config: { access: 'read' },
    schema: { tags: ['schedules'], summary: 'Runs of a schedule, newest first, each with its session', params: idParams, querystring: z.strictObject({ limit: limitQuery }), response: { 200: z.object({ data: z.array(runSchema) }), ...errors } },
  }, async (req) => ({ data: await schedules.runs(req.principal, req.params.id, req.query.limit) }));

  app.get('/api/usage', {
    config: { access: 'read' },
    schema: {
      tags: ['usage'],
      summary: 'Spend (cost and tokens of turns that ended in [from, to)) by owner, UTC day or schedule; a user key sees its own',
      querystring: z.strictObject({
        group_by: z.enum(['owner', 'day', 'schedule']).default('owner'),
        from: z.iso.datetime({ offset: true }).optional().describe('Default: 30 days before `to`.'),
        to: z.iso.datetime({ offset: true }).optional().describe('Default: now.'),
      }),
      response: { 200: z.object({ group_by: z.string(), from: z.string(), to: z.string(), data: z.array(usageRow) }), ...errors },
    },
  }, async (req) => {
    const to = req.query.to ? new Date(req.query.to) : new Date();
    const from = req.query.from ? new Date(req.query.from) : new Date(to.getTime() - 30 * DAY_MS);
    if (from >= to) throw badRequest('invalid_range', 'from must be before to');
    const data = await usageBy(database.db, { group: req.query.group_by, from, to, owner: ownerFilter(req.principal) });
    return { group_by: req.query.group_by, from: from.toISOString(), to: to.toISOString(), data };
  });
};
