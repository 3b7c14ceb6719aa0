/**
 * What people type to the bot: `/claude [repo=URL] [ref=REF] [path=DIR] [worktree=REPO]
 * [mode=plan|acceptEdits] <prompt>`, `/claude status`, `/claude stop <id>`, `/claude config …`,
 * and in a thread `stop` or `done`. Options are `key=value` words before or after the prompt.
 */

export const START_OPTIONS = ['repo', 'ref', 'path', 'worktree', 'mode'] as const;
export type StartOption = (typeof START_OPTIONS)[number];
export type StartOptions = Partial<Record<StartOption, string>>;

const MODES = ['plan', 'acceptEdits', 'default'] as const;

export type Command =
  | { kind: 'start'; prompt: string; options: StartOptions }
  | { kind: 'status' }
  | { kind: 'stop'; id: string }
  | { kind: 'config'; options: StartOptions; clear: boolean }
  | { kind: 'help' }
  | { kind: 'invalid'; message: string };

/** Slack sends links as `<https://x|label>` or `<https://x>`, and user mentions as `<@U123>` (the bot's own is removed by the listener). */
export function plainText(text: string): string {
  return text
    .replace(/<@([UW][A-Z0-9]+)(\|[^>]*)?>/g, '@$1')
    .replace(/<((?:https?|mailto|file):[^|>]+)(\|[^>]*)?>/g, '$1')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&')
    .trim();
}

/** Pulls `key=value` words for the known keys out of the text; the rest is the prompt. */
export function extractOptions(text: string): { options: StartOptions; rest: string; error?: string } {
  const options: StartOptions = {};
  const rest: string[] = [];
  for (const word of text.split(/(\s+)/)) {
    const m = /^([a-z]+)=(\S+)$/.exec(word);
    if (m && (START_OPTIONS as readonly string[]).includes(m[1]!)) {
      const key = m[1] as StartOption;
      if (options[key] !== undefined) return { options, rest: '', error: `${key}= is given twice` };
      options[key] = m[2]!;
    } else rest.push(word);
  }
  if (options.mode !== undefined && !(MODES as readonly string[]).includes(options.mode)) {
    return { options, rest: '', error: `mode=${options.mode}: use mode=plan or mode=acceptEdits` };
  }
  const kinds = ['repo', 'path', 'worktree'].filter((k) => options[k as StartOption] !== undefined);
  if (kinds.length > 1) return { options, rest: '', error: `give only one of repo=, path= and worktree= (got ${kinds.join(', ')})` };
  if (options.ref !== undefined && options.repo === undefined && options.worktree === undefined) return { options, rest: '', error: 'ref= goes with repo= or worktree=' };
  return { options, rest: rest.join('').trim() };
}

/** A slash command's text (already without the command itself). */
export function parseCommand(raw: string): Command {
  const text = plainText(raw);
  const [first = '', ...others] = text.split(/\s+/);
  const word = first.toLowerCase();
  if (text === '' || word === 'help') return { kind: 'help' };
  if (word === 'status' && others.length === 0) return { kind: 'status' };
  if (word === 'stop' && others.length <= 1) {
    return others[0] ? { kind: 'stop', id: others[0] } : { kind: 'invalid', message: 'say which session: `/claude stop <session id>` (see `/claude status`)' };
  }
  if (word === 'config') {
    const body = others.join(' ');
    if (body.trim().toLowerCase() === 'clear') return { kind: 'config', options: {}, clear: true };
    const { options, rest, error } = extractOptions(body);
    if (error) return { kind: 'invalid', message: error };
    if (rest) return { kind: 'invalid', message: `config takes only ${START_OPTIONS.map((k) => `${k}=`).join(' ')} (or clear); got "${rest.slice(0, 80)}"` };
    return { kind: 'config', options, clear: false };
  }
  return startFrom(text);
}

/** A mention or direct message: all of it is a prompt, with options. */
export function startFrom(text: string): Command {
  const { options, rest, error } = extractOptions(plainText(text));
  if (error) return { kind: 'invalid', message: error };
  if (!rest) return { kind: 'invalid', message: 'nothing to do: add a prompt, e.g. `/claude repo=https://github.com/org/app fix the failing test`' };
  return { kind: 'start', prompt: rest, options };
}

/** A reply in a followed thread: a prompt, or `stop` / `done`. */
export function parseReply(raw: string): { kind: 'stop' } | { kind: 'done' } | { kind: 'message'; text: string } {
  const text = plainText(raw);
  const word = text.toLowerCase().replace(/[.!]+$/, '');
  if (word === 'stop') return { kind: 'stop' };
  if (word === 'done') return { kind: 'done' };
  return { kind: 'message', text };
}

export const HELP = [
  '*Claude Code from Slack*',
  '`/claude <prompt>` start a session in a new thread (or mention me, or send me a direct message)',
  '   options: `repo=URL` `ref=BRANCH` `path=DIR` `worktree=REPO` `mode=plan|acceptEdits`',
  'in the thread: reply to continue · `stop` interrupts the running turn · `done` closes the session',
  '`/claude status` your queued and running sessions · `/claude stop <id>` stops one',
  '`/claude config repo=… mode=…` this channel\'s defaults (admins) · `/claude config clear`',
].join('\n');
