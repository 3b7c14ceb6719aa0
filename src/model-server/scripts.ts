/**
 * Scripts the model server plays. A script is a list of steps; the step answered
 * is the number of assistant turns taken since the prompt that chose the script,
 * so the server keeps no state between requests.
 *
 * Prompt syntax:
 *   SCRIPT:<name>          a built-in script from BUILTIN_SCRIPTS
 *   SCRIPT_JSON:<json>     an inline script: a JSON array of steps (rest of the text)
 *   anything else          one text answer, "Done: <prompt>"
 * In a prompt that replays a lost conversation, only the text after `</conversation>` counts.
 * A prompt holding `<approved_tool_call>{"name","input"}</approved_tool_call>` (an approval's
 * continuation) makes that call again, then answers "Finished the approved call.".
 *
 * A prompt may also carry `TURN_ID:<id>` (letters, digits, `_.-`; before any SCRIPT_JSON, which
 * takes the rest of the text): the server then counts the requests of that turn (see turnCounts in
 * server.ts), so a harness can tell a turn that ran twice from one that ran once.
 *
 * Strings in tool inputs may contain `{{cwd}}`, replaced by the working directory
 * Claude Code reports in its system prompt (for absolute file paths).
 */
import { z } from 'zod';

const delay = z.number().int().min(0).max(3_600_000).optional();
const toolCall = z.object({ name: z.string().min(1), input: z.record(z.string(), z.unknown()) });

export const stepSchema = z.union([
  z.object({ tool: z.string().min(1), input: z.record(z.string(), z.unknown()), delay_ms: delay }).strict(),
  z.object({ tools: z.array(toolCall).min(1), delay_ms: delay }).strict(),
  z.object({ text: z.string(), delay_ms: delay }).strict(),
  z
    .object({
      error: z
        .object({
          status: z.number().int().min(400).max(599),
          type: z.string().optional(),
          message: z.string().optional(),
        })
        .strict(),
      delay_ms: delay,
    })
    .strict(),
]);

export type Step = z.infer<typeof stepSchema>;
export type ToolCall = z.infer<typeof toolCall>;
export const scriptSchema = z.array(stepSchema).min(1);

const LONG_RUNNING = 'node -e "setTimeout(()=>{},600000)"';

const bash = (command: string, description: string): Step => ({ tool: 'Bash', input: { command, description } });

export const BUILTIN_SCRIPTS: Record<string, Step[]> = {
  text: [{ text: 'Finished script text.' }],
  bash: [bash('echo hello-from-bash', 'Print a greeting'), { text: 'Finished script bash.' }],
  'write-edit': [
    { tool: 'Write', input: { file_path: '{{cwd}}/notes.txt', content: 'hello from write\n' } },
    {
      tool: 'Edit',
      input: { file_path: '{{cwd}}/notes.txt', old_string: 'hello from write', new_string: 'hello from edit' },
    },
    { text: 'Finished script write-edit.' },
  ],
  fail: [bash('echo to-stderr >&2; exit 3', 'Fail on purpose'), { text: 'Finished script fail.' }],
  // A leading `sleep N` is rejected by Claude Code's Bash validation, so wait in node.
  sleep: [
    { tool: 'Bash', input: { command: LONG_RUNNING, description: 'Wait ten minutes', timeout: 600_000 } },
    { text: 'Finished script sleep.' },
  ],
  multi: [
    ...[1, 2, 3, 4, 5].map((i) => bash(`echo multi-step-${i}`, `Step ${i}`)),
    { text: 'Finished script multi.' },
  ],
  // About 16,000 characters of paragraphs, a long code block and a broadcast mention: what chat
  // integrations must split (or attach) without losing any of it.
  'long-answer': [{ text: longAnswer() }],
};

function longAnswer(): string {
  const para = (i: number) => `Paragraph ${i} of the long answer. ${'The quick brown fox jumps over the lazy dog. '.repeat(8).trim()}`;
  const code = Array.from({ length: 120 }, (_, i) => `  const value${i} = compute(${i}); // line ${i} of the listing`).join('\n');
  return [
    '# Long answer',
    ...Array.from({ length: 12 }, (_, i) => para(i + 1)),
    'Heads up <!channel>: the listing follows.',
    '```ts\nfunction listing() {\n' + code + '\n}\n```',
    ...Array.from({ length: 12 }, (_, i) => para(i + 13)),
    'END OF LONG ANSWER',
  ].join('\n\n');
}

/** What the prompt asked for: a script (named or inline), an invalid directive, or plain text. */
export type Directive =
  | { kind: 'script'; name: string; steps: Step[] }
  | { kind: 'invalid'; message: string }
  | { kind: 'plain'; prompt: string };

const NAMED_ALL = /SCRIPT:([A-Za-z0-9_-]+)/g;
const INLINE = 'SCRIPT_JSON:';

/**
 * The last directive of the prompt wins: a conversation replayed after a lost transcript
 * (src/runner/replay.ts) quotes the earlier prompts, directives included, before the new one.
 */
const CONVERSATION_END = '</conversation>';

export function parseDirective(whole: string): Directive {
  // A prompt that replays a lost conversation (src/runner/replay.ts) quotes earlier prompts inside
  // <conversation>; only what follows it is this turn's own prompt.
  const end = whole.lastIndexOf(CONVERSATION_END);
  const prompt = end >= 0 ? whole.slice(end + CONVERSATION_END.length) : whole;
  const approved = APPROVED_CALL.exec(prompt);
  if (approved) return approvedCall(approved[1]!);
  const inlineAt = prompt.lastIndexOf(INLINE);
  if (inlineAt >= 0) return parseInline(prompt.slice(inlineAt + INLINE.length).trim());
  const named = [...prompt.matchAll(NAMED_ALL)].at(-1);
  if (named) {
    const name = named[1] as string;
    const steps = BUILTIN_SCRIPTS[name];
    if (!steps) {
      return { kind: 'invalid', message: `unknown script "${name}"; built-ins: ${Object.keys(BUILTIN_SCRIPTS).join(', ')}` };
    }
    return { kind: 'script', name, steps };
  }
  return { kind: 'plain', prompt: prompt.trim() };
}

/**
 * The orchestrator hands an approved tool call back in the prompt that continues the session
 * (src/approvals/service.ts); a model obeys by calling it again, so the scripted one does.
 */
const APPROVED_CALL = /<approved_tool_call>\s*([\s\S]*?)\s*<\/approved_tool_call>/;

function approvedCall(json: string): Directive {
  const parsed = toolCall.safeParse((() => {
    try {
      return JSON.parse(json) as unknown;
    } catch {
      return undefined;
    }
  })());
  if (!parsed.success) return { kind: 'invalid', message: 'approved_tool_call is not {"name", "input"} JSON' };
  return { kind: 'script', name: 'approved-call', steps: [{ tool: parsed.data.name, input: parsed.data.input }, { text: 'Finished the approved call.' }] };
}

function parseInline(json: string): Directive {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch (e: unknown) {
    return { kind: 'invalid', message: `SCRIPT_JSON is not valid JSON: ${(e as Error).message}` };
  }
  const parsed = scriptSchema.safeParse(value);
  if (!parsed.success) {
    return { kind: 'invalid', message: `SCRIPT_JSON is not a list of steps: ${z.prettifyError(parsed.error)}` };
  }
  return { kind: 'script', name: 'inline', steps: parsed.data };
}

/** Replaces `{{cwd}}` in every string of a tool input, recursively. */
export function fillPlaceholders(value: unknown, cwd: string): unknown {
  if (typeof value === 'string') return value.replaceAll('{{cwd}}', cwd);
  if (Array.isArray(value)) return value.map((v) => fillPlaceholders(v, cwd));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, fillPlaceholders(v, cwd)]));
  }
  return value;
}
