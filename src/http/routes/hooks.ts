/** Endpoints Claude Code's hooks post to (directly, or through the cco-hook forwarder's spool). */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { HOOK_EVENTS, parseEventId, parseEventName } from '../../hooks/events.ts';
import { writeScope, type HookIngest } from '../../hooks/ingest.ts';
import { toolHookToLog } from '../../hooks/tool-event.ts';
import type { SessionService } from '../../sessions/service.ts';
import type { HookOutcome, Metrics } from '../../metrics/metrics.ts';
import type { BatchEventInput, BatchEventResult } from '../../hooks/ingest-batch.ts';
import { errorSchema, HOOK_BATCH_MAX, hookBatchBody, hookBatchResultSchema, hookEventBody, toolHookBody } from '../schemas.ts';

const ackSchema = z.object({ ok: z.literal(true), session_id: z.string(), log_id: z.number().nullable(), duplicate: z.boolean() });

const eventAckSchema = z.object({
  ok: z.literal(true),
  session_id: z.string(),
  event: z.enum(HOOK_EVENTS),
  stored: z.boolean(),
  duplicate: z.boolean(),
  ignored: z.string().optional(),
  log_id: z.number().optional(),
  event_id: z.number().optional(),
  message_id: z.number().optional(),
  session_completed: z.boolean().optional(),
});

const BATCH_OUTCOME: Record<BatchEventResult['status'], HookOutcome> = { stored: 'ingested', duplicate: 'duplicate', ignored: 'ignored', refused: 'refused' };

export const hookRoutes: FastifyPluginAsyncZod<{ sessions: SessionService; hooks: HookIngest; resultMaxBytes: number; metrics?: Metrics | undefined }> = async (app, opts) => {
  // A request answered 4xx carried events that were refused: one, or a whole batch's.
  app.addHook('onResponse', async (req, reply) => {
    if (!opts.metrics || reply.statusCode < 400 || reply.statusCode >= 500) return;
    const events = (req.body as { events?: unknown } | undefined)?.events;
    opts.metrics.hookEvent('refused', req.routeOptions.url === '/api/hooks/batch' && Array.isArray(events) ? Math.max(1, events.length) : 1);
  });

  // A rejected event (malformed, oversized, unknown kind) is logged once, here; the
  // forwarder dead-letters a 400/413/415/422 instead of retrying, so it does not repeat.
  app.addHook('onError', async (req, _reply, err) => {
    req.log.warn({ url: req.url.split('?')[0], code: (err as { code?: string }).code, reason: err.message.slice(0, 300) }, 'hook event rejected');
  });

  app.post('/api/hooks/tool-complete', {
    config: { access: 'hook' },
    schema: {
      tags: ['hooks'],
      summary: 'Record one tool execution from a PostToolUse or PostToolUseFailure hook',
      description:
        "Takes the JSON Claude Code sends to a hook. The session is found by Claude Code's session_id; an unknown one becomes a new session (a run started outside the orchestrator). A redelivered tool_use_id is stored once.",
      body: toolHookBody,
      response: { 200: ackSchema, 400: errorSchema, 413: errorSchema },
    },
  }, async (req) => {
    const p = req.body;
    const r = await opts.sessions.addLogByClaudeSession(
      {
        claudeSessionId: p.session_id,
        projectPath: (p.cwd ?? 'unknown').slice(0, 500),
        owner: req.principal.owner,
        scope: writeScope(req.principal),
        metadata: {
          started_outside_orchestrator: true,
          ...(p.transcript_path ? { transcript_path: p.transcript_path } : {}),
        },
      },
      toolHookToLog(p, opts.resultMaxBytes),
    );
    opts.metrics?.hookEvent(r.log === undefined ? 'duplicate' : 'ingested');
    return { ok: true as const, session_id: r.sessionId, log_id: r.log?.id ?? null, duplicate: r.log === undefined };
  });

  app.post('/api/hooks/batch', {
    config: { access: 'hook' },
    schema: {
      tags: ['hooks'],
      summary: 'Record many hook events in one request (what the cco-hook forwarder sends when it has several queued)',
      description: [
        `Up to ${HOOK_BATCH_MAX} events, each {event, id, payload} as POST /api/hooks/{event} would take them (event name, x-cco-event-id, body).`,
        'The answer lists one result per event, in request order: stored, duplicate (already stored: same tool_use_id, or same event id),',
        "ignored (a runner session's prompt or Stop) or refused (with the code and HTTP status the single-event route would answer; the event",
        'will never be taken). A refused event does not fail the others. Everything stored is committed before the answer; the events are',
        'stored as if each were sent alone, in order. With `accept: text/plain` the answer is one line per event instead:',
        '`<id or -> <status>[ <code> <message>]` (what the shell forwarder reads).',
      ].join(' '),
      body: hookBatchBody,
      response: { 200: z.object({ results: z.array(hookBatchResultSchema) }), 400: errorSchema, 413: errorSchema, 415: errorSchema },
    },
  }, async (req, reply) => {
    const items = req.body.events.map((e): BatchEventInput => {
      const checked = hookEventBody.safeParse(e.payload);
      if (checked.success) return { event: e.event, id: e.id, payload: checked.data };
      const issue = checked.error.issues[0];
      return { event: e.event, id: e.id, payload: { session_id: '' }, payloadError: `${issue?.path.length ? '.' : ''}${issue?.path.join('.') ?? ''}: ${issue?.message ?? 'invalid'}` };
    });
    const results = await opts.hooks.ingestBatch(req.principal, items);
    for (const r of results) opts.metrics?.hookEvent(BATCH_OUTCOME[r.status]);
    // A string with a text content type is sent as it is (the JSON response schema is not applied).
    if (prefersText(req.headers.accept)) return reply.type('text/plain; charset=utf-8').send(results.map(textLine).join('') as never);
    return { results };
  });

  app.post('/api/hooks/:event', {
    config: { access: 'hook' },
    schema: {
      tags: ['hooks'],
      summary: 'Record one hook event of any supported kind',
      description: [
        `:event is the Claude Code hook name (${HOOK_EVENTS.join(', ')}) or its kebab-case form (post-tool-use, session-end, ...).`,
        'The body is the JSON Claude Code gives the hook. Tool events become command logs, UserPromptSubmit a user message,',
        "Stop an assistant message (last_assistant_message); every non-tool event is listed by GET /api/sessions/{id}/events.",
        "An unknown Claude Code session_id becomes a new session (source cli); SessionEnd marks it completed.",
        'Tool events are stored once per tool_use_id. Other events are deduplicated on the sender\'s event id, the x-cco-event-id header',
        '(the cco-hook forwarder sends one per event) or else an Idempotency-Key header: a redelivery with the same id gives duplicate=true;',
        'an event without either is always stored, so two identical events are two rows.',
      ].join(' '),
      params: z.object({ event: z.string().max(100) }),
      headers: z.looseObject({
        'x-cco-event-id': z.string().optional().describe("The sender's id for this event (1-200 visible ASCII characters); a second event with the same id is a redelivery."),
        'idempotency-key': z.string().optional().describe('Used as the event id when x-cco-event-id is absent.'),
      }),
      body: hookEventBody,
      response: { 200: eventAckSchema, 400: errorSchema, 413: errorSchema, 415: errorSchema },
    },
  }, async (req) => {
    const event = parseEventName(req.params.event);
    const r = await opts.hooks.ingest(req.principal, event, req.body, parseEventId(req.headers));
    opts.metrics?.hookEvent(r.stored ? 'ingested' : r.duplicate ? 'duplicate' : 'ignored');
    return { ok: true as const, ...r };
  });
};

/** `accept: text/plain` (and not JSON first): the line answer a shell script can read with `read`. */
const prefersText = (accept: string | undefined) => accept !== undefined && /^\s*text\/plain/i.test(accept);

const oneLine = (s: string) => s.replace(/\s+/g, ' ').trim();

function textLine(r: BatchEventResult): string {
  const extra = r.status === 'refused' ? ` ${r.code ?? 'refused'} ${oneLine(r.message ?? '').slice(0, 500)}` : '';
  const id = r.id !== null && /^[\x21-\x7e]+$/.test(r.id) ? r.id : '-';
  return `${id} ${r.status}${extra}\n`;
}
