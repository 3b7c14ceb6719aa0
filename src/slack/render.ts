/**
 * What the bot posts, as Slack payloads: agent text made safe (escaped, broadcast mentions
 * neutralised) and split to fit Slack's limits, the status line of a thread and the notice at
 * the end of each turn. Pure functions: the outbox sends what these return.
 */

/** A section block's text may hold 3,000 characters; a little is kept free for a reopened code fence. */
export const SECTION_CHARS = 2900;
/** Sections per message: 4 x 2,900 stays under the ~12,000 characters of blocks Slack accepts (msg_blocks_too_long). */
export const SECTIONS_PER_MESSAGE = 4;
/** The plain `text` of a message with blocks is only its notification preview. */
const PREVIEW_CHARS = 280;

type TextObject = { type: 'mrkdwn' | 'plain_text'; text: string };
type Button = { type: 'button'; action_id: string; text: TextObject; value: string; style?: 'primary' | 'danger' };

export interface SlackBlock {
  type: string;
  block_id?: string;
  text?: TextObject;
  elements?: (TextObject | Button)[];
}

export interface SlackPost {
  text: string;
  blocks?: SlackBlock[];
}

export interface SlackFile {
  filename: string;
  title: string;
  content: string;
  /** Posted with the file: the start of the text, so the thread still reads without opening it. */
  initialComment: string;
}

/** Slack's three control characters; escaping `<` also turns `<!channel>` into plain text. */
export function escapeSlack(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** `@channel`, `@here`, `@everyone` typed as words notify a whole channel where link_names is on: break them. */
function breakBroadcasts(text: string): string {
  return text.replace(/@(channel|here|everyone)\b/gi, '@\u200b$1');
}

/** Agent text → Slack mrkdwn, outside code: escaped, broadcasts broken, the commonest Markdown mapped. */
function proseToMrkdwn(text: string): string {
  return breakBroadcasts(escapeSlack(text))
    .replace(/^#{1,6}\s+(.+)$/gm, '*$1*')
    .replace(/\*\*(.+?)\*\*/g, '*$1*')
    .replace(/\[([^\]\n]+)\]\((https?:\/\/[^\s)]+)\)/g, (_m, label: string, url: string) => `<${url}|${label.replace(/\|/g, '¦')}>`)
    .replace(/^(\s*)[-*]\s+/gm, '$1• ');
}

/** Agent Markdown → mrkdwn: code fences kept (their language tag dropped, Slack shows none), text escaped. */
export function toMrkdwn(markdown: string): string {
  const parts = markdown.split(/(^```[^\n]*\n[\s\S]*?^```[ \t]*$)/m);
  return parts
    .map((p, i) => {
      if (i % 2 === 0) return proseToMrkdwn(p);
      const body = p.replace(/^```[^\n]*\n/, '').replace(/```[ \t]*$/, '');
      return '```\n' + breakBroadcasts(escapeSlack(body)) + '```';
    })
    .join('');
}

/**
 * Splits mrkdwn into pieces of at most `max` characters: at paragraph breaks where it can, else at
 * line breaks, else (one very long line) anywhere. A piece that ends inside a code fence closes it
 * and the next reopens it, so each piece renders on its own. Nothing is dropped: joined, the pieces
 * hold every character of the input (besides the added fences).
 */
export function splitMrkdwn(text: string, max = SECTION_CHARS): string[] {
  const FENCE = '```';
  const pieces: string[] = [];
  let rest = text;
  let reopen = false;
  while (rest.length > 0) {
    const head = reopen ? FENCE + '\n' : '';
    const room = max - head.length - (FENCE.length + 1);
    if (head.length + rest.length <= max) {
      pieces.push(head + rest);
      break;
    }
    let cut = cutPoint(rest, room);
    if (cut <= 0) cut = room;
    const piece = rest.slice(0, cut);
    rest = rest.slice(cut).replace(/^\n+/, '');
    const inside: number = (reopen ? 1 : 0) + countFences(piece);
    const open: boolean = inside % 2 === 1;
    pieces.push(head + piece.replace(/\n+$/, '') + (open ? '\n' + FENCE : ''));
    reopen = open;
  }
  return pieces.filter((p) => p.trim().length > 0);
}

function countFences(s: string): number {
  return (s.match(/```/g) ?? []).length;
}

/** The best place to cut at most `room` characters in: a blank line, else a newline, else a space. */
function cutPoint(s: string, room: number): number {
  const window = s.slice(0, room);
  const para = window.lastIndexOf('\n\n');
  if (para > room / 3) return para + 1;
  const line = window.lastIndexOf('\n');
  if (line > room / 3) return line + 1;
  const space = window.lastIndexOf(' ');
  return space > room / 3 ? space + 1 : room;
}

const section = (text: string): SlackBlock => ({ type: 'section', text: { type: 'mrkdwn', text } });
const context = (text: string): SlackBlock => ({ type: 'context', elements: [{ type: 'mrkdwn', text }] });

function preview(mrkdwn: string): string {
  const flat = mrkdwn.replace(/```/g, '').replace(/\s+/g, ' ').trim();
  return flat.length > PREVIEW_CHARS ? `${flat.slice(0, PREVIEW_CHARS - 1)}…` : flat;
}

/**
 * An assistant answer as posts (each within Slack's limits), or past `fileThreshold` characters
 * as a file whose comment is the answer's start and says how long the whole is.
 */
export function answerPosts(markdown: string, opts: { fileThreshold: number; name: string }): { posts: SlackPost[]; file?: SlackFile } {
  const text = markdown.trim();
  if (text.length === 0) return { posts: [] };
  if (text.length > opts.fileThreshold) {
    const first = splitMrkdwn(toMrkdwn(text), 1500)[0] ?? '';
    return {
      posts: [],
      file: {
        filename: `${opts.name}.md`,
        title: `${opts.name}.md`,
        content: text,
        initialComment: `${first}\n\n_… the whole answer (${text.length.toLocaleString('en-US')} characters) is in the attached file._`,
      },
    };
  }
  const sections = splitMrkdwn(toMrkdwn(text));
  const posts: SlackPost[] = [];
  for (let i = 0; i < sections.length; i += SECTIONS_PER_MESSAGE) {
    const group = sections.slice(i, i + SECTIONS_PER_MESSAGE);
    posts.push({ text: preview(group.join(' ')), blocks: group.map(section) });
  }
  if (posts.length > 1) {
    posts.forEach((p, i) => p.blocks!.push(context(`part ${i + 1} of ${posts.length}`)));
  }
  return { posts };
}

export type ThreadStatus = 'queued' | 'running' | 'done' | 'failed' | 'paused' | 'closed';

const STATUS_LABEL: Record<ThreadStatus, string> = {
  queued: ':hourglass_flowing_sand: queued',
  running: ':gear: running',
  done: ':white_check_mark: done',
  failed: ':x: failed',
  paused: ':double_vertical_bar: stopped (reply to continue)',
  closed: ':lock: closed',
};

export function sessionLink(publicUrl: string, sessionId: string): string {
  return `${publicUrl}/sessions/${sessionId}`;
}

/** The bot's first post of a thread, edited as the session goes: who started it, the prompt, the status. */
export function headPost(h: { sessionId: string; publicUrl: string; starter: string; prompt: string; status: ThreadStatus; turns: number }): SlackPost {
  const link = sessionLink(h.publicUrl, h.sessionId);
  const prompt = h.prompt.length > 500 ? `${h.prompt.slice(0, 499)}…` : h.prompt;
  const status = `${STATUS_LABEL[h.status]}${h.turns > 1 ? ` · turn ${h.turns}` : ''}`;
  return {
    text: `Claude Code session for <@${h.starter}>: ${h.status}`,
    blocks: [
      section(`*Claude Code* · started by <@${h.starter}>\n>${breakBroadcasts(escapeSlack(prompt)).replace(/\n/g, '\n>')}`),
      context(`${status} · <${link}|open in the dashboard> · reply in this thread to continue; \`stop\` interrupts, \`done\` closes`),
    ],
  };
}

export interface TurnSummary {
  turnNumber: number;
  status: string;
  durationMs: number | null;
  costUsd: number | null;
  tools: Map<string, number>;
  filesChanged: number | null;
  error: string | null;
}

export function turnNotice(t: TurnSummary, publicUrl: string, sessionId: string): SlackPost {
  const ok = t.status === 'completed';
  const icon = ok ? ':white_check_mark:' : t.status === 'interrupted' ? ':double_vertical_bar:' : ':x:';
  const parts = [`${icon} Turn ${t.turnNumber} ${ok ? 'done' : t.status.replace('_', ' ')}`];
  if (t.durationMs !== null) parts[0] += ` in ${(t.durationMs / 1000).toFixed(1)} s`;
  if (t.costUsd !== null) parts.push(`$${t.costUsd.toFixed(4)}`);
  const tools = [...t.tools].sort((a, b) => b[1] - a[1]).map(([name, n]) => (n > 1 ? `${name} ×${n}` : name));
  parts.push(tools.length ? `tools: ${escapeSlack(tools.join(', '))}` : 'no tools');
  if (t.filesChanged !== null) parts.push(`${t.filesChanged} file${t.filesChanged === 1 ? '' : 's'} changed in all`);
  parts.push(`<${sessionLink(publicUrl, sessionId)}|dashboard>`);
  const line = parts.join(' · ');
  const blocks = [context(line)];
  if (t.error && !ok) blocks.unshift(section(`:warning: ${breakBroadcasts(escapeSlack(t.error.slice(0, 1000)))}`));
  return { text: line.replace(/<[^|>]+\|([^>]+)>/g, '$1'), blocks };
}

/** A short answer from the bot (errors, refusals, confirmations), escaped. */
export function notice(text: string): SlackPost {
  return { text: breakBroadcasts(escapeSlack(text)) };
}

/** Action ids of the approval buttons (slack-app.ts routes them to SlackService.decideApproval). */
export const APPROVAL_ACTIONS = { allow: 'cco_approval_allow', session: 'cco_approval_allow_session', deny: 'cco_approval_deny' } as const;

/** A tool call waiting for a decision: the exact input and the buttons (their value is the request id). */
export function approvalRequestPost(a: { id: string; tool_name: string; tool_input: unknown; expires_at: Date }, publicUrl: string, sessionId: string): SlackPost {
  const input = a.tool_input as Record<string, unknown> | null;
  const shown = a.tool_name === 'Bash' && typeof input?.command === 'string' ? input.command : JSON.stringify(a.tool_input, null, 2);
  const code = shown.length > 2500 ? `${shown.slice(0, 2500)}\n… (${shown.length} characters; the whole input is in the dashboard)` : shown;
  const title = `:raised_hand: *${escapeSlack(a.tool_name)}* waits for approval`;
  return {
    text: `${a.tool_name} waits for approval`,
    blocks: [
      section(`${title}\n\`\`\`\n${breakBroadcasts(escapeSlack(code))}\n\`\`\``),
      {
        type: 'actions',
        block_id: `approval:${a.id}`,
        elements: [
          { type: 'button', action_id: APPROVAL_ACTIONS.allow, text: { type: 'plain_text', text: 'Approve' }, style: 'primary', value: a.id },
          { type: 'button', action_id: APPROVAL_ACTIONS.session, text: { type: 'plain_text', text: 'Always allow in this session' }, value: a.id },
          { type: 'button', action_id: APPROVAL_ACTIONS.deny, text: { type: 'plain_text', text: 'Deny' }, style: 'danger', value: a.id },
        ],
      },
      context(`expires ${a.expires_at.toISOString()} · <${publicUrl}/approvals|all approvals> · ${sessionLink(publicUrl, sessionId)}`),
    ],
  };
}

/** The decision, posted under the request once (whoever made it, from wherever). */
export function approvalDecidedPost(a: { tool_name: string; status: string; decided_by: string | null; decided_via: string | null; decided_at: Date | null; reason: string | null; scope: string | null }): SlackPost {
  const what = a.status === 'allowed' ? (a.scope === 'session' ? ':white_check_mark: Allowed for the rest of this session' : ':white_check_mark: Approved') : a.status === 'denied' ? ':no_entry: Denied' : ':hourglass: Expired';
  const by = a.status === 'expired' ? '' : ` by ${a.decided_by ?? 'someone'}${a.decided_via ? ` (${a.decided_via})` : ''}`;
  const when = a.decided_at ? ` at ${a.decided_at.toISOString()}` : '';
  return notice(`${what}${by}${when}: ${a.tool_name}${a.reason ? ` (${a.reason})` : ''}`);
}
