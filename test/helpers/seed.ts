/** Creating sessions, messages and hook events through the real API, as a client would. */
import type { FastifyInstance } from 'fastify';
import { call } from './app.ts';

export async function createSession(app: FastifyInstance, body: Record<string, unknown>): Promise<{ id: string; claude_session_id: string | null }> {
  const r = await call(app, 'POST', '/api/sessions', body);
  if (r.status !== 201) throw new Error(`create session: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body;
}

export async function postMessage(app: FastifyInstance, id: string, direction: 'user' | 'assistant' | 'system', content: string) {
  const r = await call(app, 'POST', `/api/sessions/${id}/messages`, { direction, content, source: 'api' });
  if (r.status !== 201) throw new Error(`post message: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body as { id: number; timestamp: string };
}

let toolSeq = 0;

/** A PostToolUse hook payload for a Bash command, as Claude Code sends it. */
export async function postToolHook(app: FastifyInstance, claudeSessionId: string, command: string, output: string, opts: { failed?: boolean; durationMs?: number } = {}) {
  toolSeq += 1;
  const body = {
    session_id: claudeSessionId,
    hook_event_name: opts.failed ? 'PostToolUseFailure' : 'PostToolUse',
    cwd: '/srv/demo',
    tool_name: 'Bash',
    tool_use_id: `toolu_test_${process.pid}_${toolSeq}`,
    tool_input: { command, description: `run ${command}` },
    ...(opts.failed ? { error: output } : { tool_response: { stdout: output, stderr: '', interrupted: false } }),
    duration_ms: opts.durationMs ?? 120,
  };
  const r = await call(app, 'POST', '/api/hooks/tool-complete', body);
  if (r.status !== 200) throw new Error(`hook: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body as { log_id: number };
}
