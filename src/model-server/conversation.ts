/**
 * Decides the reply to one Messages API request from the request alone: which
 * prompt started the current turn, which script it selects, and how many
 * assistant turns have already been taken since then.
 */
import { randomBytes } from 'node:crypto';
import { fillPlaceholders, parseDirective, type Step } from './scripts.ts';

export type ContentBlock =
  | { type: 'text'; text: string }
  | { type: 'tool_use'; id: string; name: string; input: unknown };

export type Reply =
  | { kind: 'message'; content: ContentBlock[]; stopReason: 'end_turn' | 'tool_use'; delayMs: number; label: string }
  | { kind: 'error'; status: number; type: string; message: string; delayMs: number; label: string };

interface RequestBlock {
  type?: unknown;
  text?: unknown;
}
interface RequestMessage {
  role?: unknown;
  content?: unknown;
}
export interface MessagesRequest {
  model?: unknown;
  messages?: unknown;
  system?: unknown;
  tools?: unknown;
  stream?: unknown;
}

const ERROR_TYPES: Record<number, string> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  403: 'permission_error',
  404: 'not_found_error',
  413: 'request_too_large',
  429: 'rate_limit_error',
  500: 'api_error',
  529: 'overloaded_error',
};

const blocksOf = (m: RequestMessage): RequestBlock[] =>
  typeof m.content === 'string' ? [{ type: 'text', text: m.content }] : Array.isArray(m.content) ? m.content : [];

const isReminder = (text: string) => text.trimStart().startsWith('<system-reminder>');

/** Text blocks of a user message, without the system reminders Claude Code adds. */
function userTexts(m: RequestMessage): string[] {
  return blocksOf(m)
    .filter((b) => b.type === 'text' && typeof b.text === 'string')
    .map((b) => b.text as string)
    .filter((t) => !isReminder(t));
}

/**
 * A prompt is a user message holding text and no tool results; or one that hands an approved call
 * back: a turn that stopped on a call waiting for approval ends on that call's tool_result, and
 * Claude Code sends the next prompt in the same user message as that result.
 */
const isPrompt = (m: RequestMessage) =>
  m.role === 'user' && userTexts(m).length > 0 && (!blocksOf(m).some((b) => b.type === 'tool_result') || userTexts(m).some((t) => t.includes('<approved_tool_call>') || t.startsWith('[Approval ')));

/**
 * Requests Claude Code makes besides the main loop (titles, summaries, the small
 * fast model) carry no tools; they get a short text and never touch the script.
 */
export function isAuxiliary(body: MessagesRequest): boolean {
  return !Array.isArray(body.tools) || body.tools.length === 0;
}

const textOf = (content: unknown): string =>
  typeof content === 'string'
    ? content
    : Array.isArray(content)
      ? content.map((b: RequestBlock) => (typeof b.text === 'string' ? b.text : '')).join('\n')
      : '';

/**
 * The working directory Claude Code states in its environment section, or '.'.
 * It sits in the system prompt or, in recent versions, in a role "system" message.
 */
export function workingDirectory(body: MessagesRequest): string {
  const messages: RequestMessage[] = Array.isArray(body.messages) ? body.messages : [];
  const texts = [textOf(body.system), ...messages.filter((m) => m.role === 'system').map((m) => textOf(m.content))];
  for (const t of texts) {
    const m = /(?:Primary working directory|Working directory):\s*(\S+)/.exec(t);
    if (m?.[1]) return m[1];
  }
  return '.';
}

export const toolUseId = () => `toolu_${randomBytes(12).toString('hex')}`;

function stepReply(step: Step, cwd: string, label: string): Reply {
  const delayMs = step.delay_ms ?? 0;
  if ('error' in step) {
    const { status } = step.error;
    const type = step.error.type ?? ERROR_TYPES[status] ?? 'api_error';
    return { kind: 'error', status, type, message: step.error.message ?? `Scripted ${status} error`, delayMs, label };
  }
  if ('text' in step) return { kind: 'message', content: [{ type: 'text', text: step.text }], stopReason: 'end_turn', delayMs, label };
  const calls = 'tools' in step ? step.tools : [{ name: step.tool, input: step.input }];
  const content: ContentBlock[] = calls.map((c) => ({
    type: 'tool_use',
    id: toolUseId(),
    name: c.name,
    input: fillPlaceholders(c.input, cwd),
  }));
  return { kind: 'message', content, stopReason: 'tool_use', delayMs, label };
}

const text = (t: string, label: string): Reply => ({
  kind: 'message',
  content: [{ type: 'text', text: t }],
  stopReason: 'end_turn',
  delayMs: 0,
  label,
});

/** The prompt of the current turn and how many assistant turns followed it, or undefined when there is none. */
function currentPrompt(body: MessagesRequest): { prompt: string; stepIndex: number } | undefined {
  const messages: RequestMessage[] = Array.isArray(body.messages) ? body.messages : [];
  for (let i = messages.length - 1; i >= 0; i--) {
    if (isPrompt(messages[i] as RequestMessage)) {
      const prompt = userTexts(messages[i] as RequestMessage).join('\n');
      return { prompt, stepIndex: messages.slice(i + 1).filter((m) => m.role === 'assistant').length };
    }
  }
  return undefined;
}

const TURN_ID = /TURN_ID:([A-Za-z0-9_.-]{1,200})/g;

/**
 * The turn id a main-loop request belongs to (the last `TURN_ID:<id>` of its current prompt: a
 * replayed conversation quotes earlier prompts before the new one) and its step: 0 is the request
 * that starts the turn, so two step-0 requests for one id mean the turn ran twice.
 */
export function turnIdOf(body: MessagesRequest): { id: string; step: number } | undefined {
  if (isAuxiliary(body)) return undefined;
  const current = currentPrompt(body);
  if (!current) return undefined;
  const ids = [...current.prompt.matchAll(TURN_ID)];
  const id = ids.at(-1)?.[1];
  return id === undefined ? undefined : { id, step: current.stepIndex };
}

export function decideReply(body: MessagesRequest): Reply {
  if (isAuxiliary(body)) return text('Scripted session', 'auxiliary');
  const current = currentPrompt(body);
  if (!current) return text('Done.', 'no-prompt');
  const { prompt, stepIndex } = current;
  const directive = parseDirective(prompt);
  switch (directive.kind) {
    case 'plain':
      return text(`Done: ${directive.prompt}`, 'plain');
    case 'invalid':
      return { kind: 'error', status: 400, type: 'invalid_request_error', message: directive.message, delayMs: 0, label: 'invalid' };
    case 'script': {
      const step = directive.steps[stepIndex];
      const label = `${directive.name}#${stepIndex}`;
      if (!step) return text(`Script ${directive.name} has no step ${stepIndex}.`, label);
      return stepReply(step, workingDirectory(body), label);
    }
    default: {
      const never: never = directive;
      throw new Error(`unhandled directive ${String(never)}`);
    }
  }
}
