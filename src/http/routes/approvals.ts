/** /api/approvals: tool calls waiting for a person, and their decisions (src/approvals). */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { requestOrigin } from '../../audit/audit-log.ts';
import { APPROVAL_STATES, type ApprovalService } from '../../approvals/service.ts';
import { cursorQuery, errorSchema, limitQuery, pageOf, uuidParam } from '../schemas.ts';

export const approvalSchema = z.object({
  id: z.string(),
  session_id: z.string(),
  turn_id: z.number().nullable(),
  tool_use_id: z.string().nullable(),
  tool_name: z.string(),
  tool_input: z.unknown().describe('The exact input the tool would run with (secret-looking values redacted).'),
  rule: z.record(z.string(), z.unknown()).nullable().describe('The policy rule that asked; null for the default.'),
  status: z.enum(APPROVAL_STATES),
  requested_at: z.string(),
  expires_at: z.string().describe('Unanswered by then, the request takes timeout_action.'),
  timeout_action: z.enum(['allow', 'deny']),
  approvers: z.array(z.string()).describe('Key names the policy lets decide besides the session owner and admins.'),
  decided_at: z.string().nullable(),
  decided_by: z.string().nullable(),
  decided_via: z.string().nullable().describe('api, dashboard, slack, n8n or timeout.'),
  reason: z.string().nullable(),
  scope: z.enum(['once', 'session']).nullable(),
  consumed_at: z.string().nullable().describe('When the allowed call ran (or the refusal reached the model).'),
  continued_turn_id: z.number().nullable().describe('The turn that continued the session after a late decision (0: none needed, the session was closed).'),
  session: z.object({ project_path: z.string(), owner: z.string().nullable() }).optional(),
});

const params = z.object({ id: uuidParam });
const errors = { 400: errorSchema, 401: errorSchema, 403: errorSchema, 404: errorSchema };

export const approvalRoutes: FastifyPluginAsyncZod<{ approvals: ApprovalService }> = async (app, { approvals }) => {
  app.get('/api/approvals', {
    config: { access: 'read' },
    schema: {
      tags: ['approvals'],
      summary: 'Approval requests, newest first: the tool, its exact input, the session',
      description: 'Admins and viewers see all; a user key sees requests of its own sessions and those naming it as an approver.',
      querystring: z.strictObject({ limit: limitQuery, cursor: cursorQuery, status: z.enum(APPROVAL_STATES).optional(), session_id: uuidParam.optional() }),
      response: { 200: pageOf(approvalSchema), ...errors },
    },
  }, async (req) => approvals.list(req.principal, req.query));

  app.get('/api/approvals/:id', {
    config: { access: 'read' },
    schema: { tags: ['approvals'], summary: 'One approval request', params, response: { 200: approvalSchema, ...errors } },
  }, async (req) => approvals.get(req.principal, req.params.id));

  app.post('/api/approvals/:id/decision', {
    config: { access: 'write' },
    schema: {
      tags: ['approvals'],
      summary: 'Allow or deny a waiting tool call; the first answer wins (409 with who and when otherwise)',
      description: 'Only the session owner, an admin or an approver the policy names may decide. scope "session" allows the same call for the rest of the session.',
      params,
      body: z.strictObject({
        decision: z.enum(['allow', 'deny']),
        reason: z.string().max(2000).optional(),
        scope: z.enum(['once', 'session']).optional().describe('allow only; default once.'),
        via: z.enum(['api', 'dashboard', 'n8n']).optional().describe('Where the decision was made, for the record; default api.'),
      }),
      response: { 200: approvalSchema, ...errors, 409: errorSchema },
    },
  }, async (req) => approvals.decide(req.principal, req.params.id, req.body, req.body.via ?? 'api', requestOrigin(req)));
};
