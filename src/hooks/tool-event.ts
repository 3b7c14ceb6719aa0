/**
 * Turns Claude Code's PostToolUse / PostToolUseFailure hook payload into a
 * command log. Payload shapes: shared/reference/claude-code.md §1.3.
 */
import { z } from 'zod';
import { redactForStorage } from '../db/text.ts';
import { identifierText } from '../lib/text.ts';
import { truncateUtf8 } from '../lib/truncate.ts';
import type { NewLogInput } from '../sessions/service.ts';

export interface ToolHookPayload {
  session_id: string;
  hook_event_name?: string | undefined;
  cwd?: string | undefined;
  transcript_path?: string | undefined;
  tool_name: string;
  tool_use_id?: string | undefined;
  tool_input?: unknown;
  tool_response?: unknown;
  error?: string | undefined;
  is_interrupt?: boolean | undefined;
  duration_ms?: number | undefined;
  agent_id?: string | undefined;
  agent_type?: string | undefined;
}

/** Renders a tool result as text: strings as they are, structured output as JSON. */
export function resultText(value: unknown): string | null {
  if (value === undefined || value === null) return null;
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** Builds a log from result text, cutting it (and an oversized input) at maxBytes after redaction. */
export function buildLog(
  base: { tool: string; tool_use_id: string | null; input: unknown; status: 'completed' | 'error'; duration_ms: number | null; metadata?: Record<string, unknown> },
  result: string | null,
  maxBytes: number,
): NewLogInput {
  // Redacted before the cut, which could split a secret so that no rule matches the part kept.
  const cut = result === null ? null : truncateUtf8(redactForStorage(result), maxBytes);
  const inputJson = JSON.stringify(base.input ?? null);
  const metadata: Record<string, unknown> = { ...(base.metadata ?? {}) };
  let input = base.input ?? null;
  if (Buffer.byteLength(inputJson) > maxBytes) {
    // A Write of a large file carries the whole file in its input; keep a preview only.
    input = { _truncated: true, preview: truncateUtf8(redactForStorage(inputJson), maxBytes).text };
    metadata.input_size = Buffer.byteLength(inputJson);
  }
  return {
    tool: base.tool,
    tool_use_id: base.tool_use_id,
    input,
    result: cut ? cut.text : null,
    result_truncated: cut?.truncated ?? false,
    result_size: cut ? cut.size : null,
    status: base.status,
    duration_ms: base.duration_ms,
    metadata,
  };
}

export function toolHookToLog(p: ToolHookPayload, maxBytes: number): NewLogInput {
  const failed = p.hook_event_name === 'PostToolUseFailure' || (p.error !== undefined && p.tool_response === undefined);
  const metadata: Record<string, unknown> = { captured_by: 'hook' };
  if (p.agent_id) metadata.agent_id = p.agent_id;
  if (p.agent_type) metadata.agent_type = p.agent_type;
  if (p.is_interrupt) metadata.interrupted = true;
  return buildLog(
    {
      tool: p.tool_name,
      tool_use_id: p.tool_use_id ?? null,
      input: p.tool_input,
      status: failed ? 'error' : 'completed',
      duration_ms: p.duration_ms ?? null,
      metadata,
    },
    failed ? (p.error ?? resultText(p.tool_response)) : resultText(p.tool_response),
    maxBytes,
  );
}

/** Domain check of a tool event's fields (the generic /api/hooks/:event route accepts any event body). */
export const toolPayloadSchema = z.looseObject({
  session_id: identifierText().min(1).max(255),
  tool_name: z.string().min(1).max(100),
  tool_use_id: identifierText().min(1).max(255).optional(),
  error: z.string().optional(),
  is_interrupt: z.boolean().optional(),
  duration_ms: z.number().int().min(0).max(2_147_483_647).optional(),
  agent_id: z.string().max(255).optional(),
  agent_type: z.string().max(255).optional(),
});
