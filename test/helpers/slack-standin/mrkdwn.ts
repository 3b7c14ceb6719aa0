/**
 * Slack mrkdwn to HTML, roughly as Slack displays it: ```fences```, `code`, *bold*, _italic_,
 * ~strike~, <url|text> links, <@U…> mentions, > quotes, :emoji: shortcodes. Slack text arrives
 * with &, < and > escaped as entities; they are decoded for display and the result re-escaped,
 * so message text can never inject markup into the page.
 */

export const esc = (s: string): string =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
export const decode = (s: string): string => s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');

const EMOJI: Record<string, string> = {
  thumbsup: '👍', '+1': '👍', thumbsdown: '👎', '-1': '👎', eyes: '👀', white_check_mark: '✅', heavy_check_mark: '✔️', x: '❌',
  warning: '⚠️', hourglass: '⌛', hourglass_flowing_sand: '⏳', rocket: '🚀', tada: '🎉', bug: '🐛', memo: '📝', gear: '⚙️',
  robot_face: '🤖', no_entry: '⛔', stop_sign: '🛑', construction: '🚧', speech_balloon: '💬', thinking_face: '🤔', fire: '🔥',
  heart: '❤️', wave: '👋', arrows_counterclockwise: '🔄', repeat: '🔁', paperclip: '📎', link: '🔗', lock: '🔒', question: '❓',
};

export const emoji = (name: string): string => EMOJI[name.replace(/::skin-tone-\d$/, '')] ?? `:${name}:`;

/** Emphasis on already-escaped text; markers must hug words, as in Slack. */
function styles(h: string): string {
  const edge = '(?=$|[\\s).,!?:;\'"])';
  return h
    .replace(new RegExp(`(^|[\\s(])\\*(?=\\S)([^*\\n]+?)\\*${edge}`, 'g'), '$1<b>$2</b>')
    .replace(new RegExp(`(^|[\\s(])_(?=\\S)([^_\\n]+?)_${edge}`, 'g'), '$1<i>$2</i>')
    .replace(new RegExp(`(^|[\\s(])~(?=\\S)([^~\\n]+?)~${edge}`, 'g'), '$1<s>$2</s>')
    .replace(/:([a-z0-9_+-]+):/g, (all, n: string) => (EMOJI[n] ? EMOJI[n] : all));
}

/** One `<…>` token: link, user/channel mention, or special mention. */
function angle(inner: string, nameOf: (id: string) => string): string {
  const [target = '', label] = inner.split('|', 2) as [string, string | undefined];
  if (target.startsWith('@')) return `<span class="mention">@${esc(label ?? nameOf(target.slice(1)))}</span>`;
  if (target.startsWith('#')) return `<span class="mention">#${esc(label ?? target.slice(1))}</span>`;
  if (target.startsWith('!')) {
    const word = target.slice(1).split('^')[0]!;
    return `<span class="mention">${esc(label ? decode(label) : `@${word}`)}</span>`;
  }
  const text = esc(decode(label ?? target));
  return /^(https?:|mailto:)/i.test(target) ? `<a href="${esc(decode(target))}">${text}</a>` : text;
}

/** Text outside code: links and mentions, then decoded-and-escaped text with emphasis. */
function plain(s: string, nameOf: (id: string) => string): string {
  let out = '';
  let last = 0;
  for (const m of s.matchAll(/<([^<>\n]+)>/g)) {
    out += styles(esc(decode(s.slice(last, m.index))));
    out += angle(m[1]!, nameOf);
    last = m.index + m[0].length;
  }
  return out + styles(esc(decode(s.slice(last))));
}

/** A line: inline `code` spans are taken verbatim, the rest formatted. */
function line(s: string, nameOf: (id: string) => string): string {
  return s
    .split(/(`[^`\n]+`)/)
    .map((part) => (/^`[^`\n]+`$/.test(part) ? `<code>${esc(decode(part.slice(1, -1)))}</code>` : plain(part, nameOf)))
    .join('');
}

export function mrkdwn(text: string, nameOf: (id: string) => string = (id) => id): string {
  const out: string[] = [];
  let last = 0;
  const lines = (seg: string) =>
    seg
      .split('\n')
      .map((l) => {
        const q = /^&gt; ?(.*)$/.exec(l);
        return q ? `<span class="quote">${line(q[1]!, nameOf)}</span>` : line(l, nameOf);
      })
      .join('<br>');
  for (const m of text.matchAll(/```([\s\S]*?)```/g)) {
    if (m.index > last) out.push(lines(text.slice(last, m.index).replace(/\n$/, '')));
    out.push(`<pre class="code">${esc(decode(m[1]!.replace(/^\n/, '').replace(/\n$/, '')))}</pre>`);
    last = m.index + m[0].length;
  }
  if (last < text.length) out.push(lines(text.slice(last).replace(/^\n/, '')));
  return out.join('');
}
