/**
 * Writes a decided reply in the Messages API wire format: one JSON message, or
 * the server-sent events of a streamed one, or an Anthropic error body.
 */
import type { ServerResponse } from 'node:http';
import { randomBytes } from 'node:crypto';
import type { ContentBlock } from './conversation.ts';

export interface Usage {
  input_tokens: number;
  output_tokens: number;
  cache_creation_input_tokens: number;
  cache_read_input_tokens: number;
}

/** About four characters per token: enough for plausible, non-zero costs. */
export const estimateTokens = (chars: number) => Math.max(1, Math.ceil(chars / 4));

export function usageFor(requestChars: number, content: ContentBlock[]): Usage {
  return {
    input_tokens: estimateTokens(requestChars),
    output_tokens: estimateTokens(JSON.stringify(content).length) + 5,
    cache_creation_input_tokens: 0,
    cache_read_input_tokens: 0,
  };
}

export interface MessageReply {
  model: string;
  content: ContentBlock[];
  stopReason: 'end_turn' | 'tool_use';
  usage: Usage;
}

const messageId = () => `msg_${randomBytes(12).toString('hex')}`;

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const payload = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) });
  res.end(payload);
}

export function sendError(res: ServerResponse, status: number, type: string, message: string): void {
  sendJson(res, status, { type: 'error', error: { type, message }, request_id: `req_${randomBytes(8).toString('hex')}` });
}

export function sendMessageJson(res: ServerResponse, r: MessageReply): void {
  sendJson(res, 200, {
    id: messageId(),
    type: 'message',
    role: 'assistant',
    model: r.model,
    content: r.content,
    stop_reason: r.stopReason,
    stop_sequence: null,
    usage: r.usage,
  });
}

/** Splits a string into a few chunks, so clients see real incremental deltas. */
function chunks(s: string, parts = 3): string[] {
  if (s.length === 0) return [''];
  const size = Math.ceil(s.length / parts);
  const out: string[] = [];
  for (let i = 0; i < s.length; i += size) out.push(s.slice(i, i + size));
  return out;
}

export function sendMessageStream(res: ServerResponse, r: MessageReply): void {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
  const event = (type: string, data: Record<string, unknown>) =>
    res.write(`event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`);
  event('message_start', {
    message: {
      id: messageId(),
      type: 'message',
      role: 'assistant',
      model: r.model,
      content: [],
      stop_reason: null,
      stop_sequence: null,
      usage: { ...r.usage, output_tokens: 1 },
    },
  });
  r.content.forEach((block, index) => {
    if (block.type === 'text') {
      event('content_block_start', { index, content_block: { type: 'text', text: '' } });
      for (const text of chunks(block.text)) event('content_block_delta', { index, delta: { type: 'text_delta', text } });
    } else {
      event('content_block_start', { index, content_block: { type: 'tool_use', id: block.id, name: block.name, input: {} } });
      for (const partial_json of chunks(JSON.stringify(block.input))) {
        event('content_block_delta', { index, delta: { type: 'input_json_delta', partial_json } });
      }
    }
    event('content_block_stop', { index });
  });
  event('message_delta', {
    delta: { stop_reason: r.stopReason, stop_sequence: null },
    usage: { output_tokens: r.usage.output_tokens },
  });
  event('message_stop', {});
  res.end();
}
