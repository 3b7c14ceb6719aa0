/** Endpoints Claude Code's hooks post to. */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { toolHookToLog } from '../../hooks/tool-event.ts';
import type { SessionService } from '../../sessions/service.ts';
import { errorSchema, toolHookBody } from '../schemas.ts';

const ackSchema = z.object({ ok: z.literal(true), session_id: z.string(), log_id: z.number().nullable(), duplicate: z.boolean() });

export const hookRoutes: FastifyPluginAsyncZod<{ sessions: SessionService; resultMaxBytes: number }> = async (app, opts) => {
  app.post('/api/hooks/tool-complete', {
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
        metadata: {
          started_outside_orchestrator: true,
          ...(p.transcript_path ? { transcript_path: p.transcript_path } : {}),
        },
      },
      toolHookToLog(p, opts.resultMaxBytes),
    );
    return { ok: true as const, session_id: r.sessionId, log_id: r.log?.id ?? null, duplicate: r.log === undefined };
  });
};
