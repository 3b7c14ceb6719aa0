/** /api/webhooks: outgoing webhook subscriptions and their deliveries (src/webhooks/). */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { requestOrigin } from '../../audit/audit-log.ts';
import { WEBHOOK_EVENTS } from '../../webhooks/events.ts';
import { DELIVERY_STATES, type WebhookService } from '../../webhooks/service.ts';
import { cursorQuery, errorSchema, limitQuery, pageOf, uuidParam } from '../schemas.ts';

export const webhookSchema = z.object({
  id: z.string(),
  url: z.string(),
  events: z.array(z.string()),
  description: z.string().nullable(),
  owner: z.string().describe('The creating key\'s owner: a user key\'s webhook gets events of that owner\'s sessions only.'),
  created_by: z.string(),
  created_at: z.string(),
});

export const deliverySchema = z.object({
  id: z.number().describe('Also sent as the x-cco-delivery header.'),
  event_id: z.string().describe('The body\'s id: the same event always has the same id (receivers dedupe on it).'),
  event_type: z.string(),
  session_id: z.string(),
  state: z.enum(DELIVERY_STATES),
  attempts: z.number(),
  next_attempt_at: z.string().nullable().describe('When pending: the next try.'),
  last_status: z.number().nullable().describe('HTTP status of the last answer; null when there was none (timeout, refused connection).'),
  last_error: z.string().nullable(),
  last_response: z.string().nullable().describe('The first 1 KiB of the last answer.'),
  last_attempt_at: z.string().nullable(),
  created_at: z.string(),
  delivered_at: z.string().nullable(),
});

const params = z.object({ id: uuidParam });
const deliveryParams = z.object({ id: uuidParam, delivery: z.coerce.number().int().min(1).max(Number.MAX_SAFE_INTEGER) });
const errors = { 400: errorSchema, 401: errorSchema, 403: errorSchema, 404: errorSchema };

export const webhookRoutes: FastifyPluginAsyncZod<{ webhooks: WebhookService }> = async (app, { webhooks }) => {
  app.post('/api/webhooks', {
    config: { access: 'write' },
    schema: {
      tags: ['webhooks'],
      summary: 'Subscribe a URL to events; the signing secret is in this answer only',
      description: 'The URL must reach a public address unless its host is listed in WEBHOOK_ALLOW_PRIVATE_HOSTS.',
      body: z.strictObject({
        url: z.string().min(1).max(2048).describe('http(s) URL the events are POSTed to.'),
        events: z.array(z.enum(WEBHOOK_EVENTS)).min(1).max(WEBHOOK_EVENTS.length * 2),
        description: z.string().max(500).optional(),
      }),
      response: { 201: webhookSchema.extend({ secret: z.string().describe('Signs every delivery (x-cco-signature); shown only now.') }), ...errors, 409: errorSchema },
    },
  }, async (req, reply) => reply.code(201).send(await webhooks.create(req.principal, req.body, requestOrigin(req))));

  app.get('/api/webhooks', {
    config: { access: 'write' },
    schema: { tags: ['webhooks'], summary: 'Webhooks (a user key: its own; admin: all); never their secrets', response: { 200: z.object({ data: z.array(webhookSchema) }), ...errors } },
  }, async (req) => ({ data: await webhooks.list(req.principal) }));

  app.delete('/api/webhooks/:id', {
    config: { access: 'write' },
    schema: { tags: ['webhooks'], summary: 'Delete a webhook; its pending deliveries go with it', params, response: { 200: webhookSchema, ...errors } },
  }, async (req) => webhooks.remove(req.principal, req.params.id, requestOrigin(req)));

  app.get('/api/webhooks/:id/deliveries', {
    config: { access: 'write' },
    schema: {
      tags: ['webhooks'],
      summary: 'Deliveries of a webhook, newest first: state, attempts, last answer',
      params,
      querystring: z.strictObject({ limit: limitQuery, cursor: cursorQuery, state: z.enum(DELIVERY_STATES).optional() }),
      response: { 200: pageOf(deliverySchema), ...errors },
    },
  }, async (req) => webhooks.deliveries(req.principal, req.params.id, req.query));

  app.post('/api/webhooks/:id/deliveries/:delivery/redeliver', {
    config: { access: 'write' },
    schema: {
      tags: ['webhooks'],
      summary: 'Send a delivery again now (delivered or failed ones too), with the same event id',
      params: deliveryParams,
      response: { 200: deliverySchema, ...errors, 409: errorSchema },
    },
  }, async (req) => webhooks.redeliver(req.principal, req.params.id, req.params.delivery, requestOrigin(req)));
};
