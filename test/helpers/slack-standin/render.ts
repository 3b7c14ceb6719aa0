/**
 * A thread as a self-contained HTML page, laid out roughly as Slack shows it, so a browser can
 * screenshot what the bot posted: avatars, names, times, mrkdwn, blocks, files, reactions.
 */
import { emoji, esc, mrkdwn } from './mrkdwn.ts';
import type { SlackStore, StoredMessage } from './store.ts';
import type { EphemeralMessage, Identity, SharedFile } from './types.ts';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

function textObj(t: unknown, nameOf: (id: string) => string): string {
  if (!isObj(t) || typeof t.text !== 'string') return '';
  return t.type === 'mrkdwn' ? mrkdwn(t.text, nameOf) : esc(t.text).replace(/:([a-z0-9_+-]+):/g, (_a, n: string) => emoji(n));
}

function button(b: Obj, nameOf: (id: string) => string): string {
  const style = b.style === 'primary' || b.style === 'danger' ? ` ${b.style}` : '';
  return `<span class="btn${style}">${textObj(b.text, nameOf)}</span>`;
}

/** Rich text (what Slack's composer sends): sections, lists, quotes, preformatted. */
function richText(el: unknown, nameOf: (id: string) => string): string {
  if (!isObj(el)) return '';
  const kids = Array.isArray(el.elements) ? el.elements.map((e) => richText(e, nameOf)).join('') : '';
  switch (el.type) {
    case 'rich_text': return kids;
    case 'rich_text_section': return `<div>${kids}</div>`;
    case 'rich_text_preformatted': return `<pre class="code">${kids}</pre>`;
    case 'rich_text_quote': return `<div class="quote">${kids}</div>`;
    case 'rich_text_list': return el.style === 'ordered' ? `<ol>${kids}</ol>` : `<ul>${kids}</ul>`;
    case 'text': {
      const s = isObj(el.style) ? el.style : {};
      let h = esc(String(el.text ?? '')).replace(/\n/g, '<br>');
      if (s.code) h = `<code>${h}</code>`;
      if (s.bold) h = `<b>${h}</b>`;
      if (s.italic) h = `<i>${h}</i>`;
      if (s.strike) h = `<s>${h}</s>`;
      return h;
    }
    case 'link': return `<a href="${esc(String(el.url ?? ''))}">${esc(String(el.text ?? el.url ?? ''))}</a>`;
    case 'user': return `<span class="mention">@${esc(nameOf(String(el.user_id)))}</span>`;
    case 'emoji': return emoji(String(el.name));
    default: return kids;
  }
}

function block(b: unknown, nameOf: (id: string) => string): string {
  if (!isObj(b)) return '';
  switch (b.type) {
    case 'section': {
      const fields = Array.isArray(b.fields) ? `<div class="fields">${b.fields.map((f) => `<div>${textObj(f, nameOf)}</div>`).join('')}</div>` : '';
      const acc = isObj(b.accessory) && b.accessory.type === 'button' ? button(b.accessory, nameOf) : '';
      return `<div class="section"><div>${textObj(b.text, nameOf)}${fields}</div>${acc}</div>`;
    }
    case 'header': return `<div class="header">${textObj(b.text, nameOf)}</div>`;
    case 'divider': return '<hr>';
    case 'context': {
      const els = Array.isArray(b.elements) ? b.elements : [];
      const parts = els.map((e) => (isObj(e) && e.type === 'image' ? `<span class="img-alt">[${esc(String(e.alt_text ?? 'image'))}]</span>` : textObj(e, nameOf)));
      return `<div class="context">${parts.join(' ')}</div>`;
    }
    case 'actions': {
      const els = Array.isArray(b.elements) ? b.elements.filter(isObj) : [];
      return `<div class="actions">${els.map((e) => (e.type === 'button' ? button(e, nameOf) : `<span class="btn">${esc(String(e.type))}</span>`)).join('')}</div>`;
    }
    case 'image': return `<div class="image">[image: ${esc(String(b.alt_text ?? ''))}]</div>`;
    case 'markdown': return `<div class="section">${mrkdwn(String(b.text ?? '').replace(/\*\*([^*\n]+)\*\*/g, '*$1*'), nameOf)}</div>`;
    case 'rich_text': return `<div class="section">${richText(b, nameOf)}</div>`;
    default: return `<div class="context">[${esc(String(b.type))} block]</div>`;
  }
}

function fileCard(f: SharedFile): string {
  // A typed square like Slack's file icons (drawn with CSS, so no icon font is needed).
  const ext = (/\.([a-z0-9]{1,4})$/i.exec(f.name)?.[1] ?? 'file').toUpperCase();
  const kb = f.size < 1024 ? `${f.size} B` : `${(f.size / 1024).toFixed(1)} KB`;
  const preview = f.content === undefined ? '' : `<pre class="preview">${esc(f.content.split('\n').slice(0, 12).join('\n'))}</pre>`;
  return `<div class="file"><div class="file-head"><span class="file-icon">${esc(ext)}</span><div><div class="file-name">${esc(f.title || f.name)}</div><div class="file-meta">${esc(f.name)} · ${kb}</div></div></div>${preview}</div>`;
}

const hue = (s: string) => [...s].reduce((h, c) => (h * 31 + c.charCodeAt(0)) % 360, 7);
const clock = (ts: string) => new Date(Number(ts) * 1000).toISOString().slice(11, 16);

export function renderThreadHtml(store: SlackStore, id: Identity, channel: string, ts: string, opts: { forUser?: string } = {}): string {
  const first = store.find(channel, ts);
  if (!first) throw new Error(`no message ${ts} in ${channel}`);
  const thread = store.threadOf(first);
  const root = thread[0]!;
  const nameOf = (uid: string) => store.users.get(uid)?.realName ?? uid;
  const ephemerals = opts.forUser
    ? store.ephemeral.filter((e) => e.channel === channel && e.user === opts.forUser && (e.thread_ts === root.ts || e.ts === root.ts))
    : [];

  const message = (m: StoredMessage | EphemeralMessage, ephemeral = false) => {
    const sm = m as StoredMessage;
    const bot = ephemeral || !!sm.bot_id;
    const name = bot ? id.botName : nameOf(sm.user ?? '');
    const body = m.blocks?.length ? m.blocks.map((b) => block(b, nameOf)).join('') : `<div class="text">${mrkdwn(m.text, nameOf)}</div>`;
    const files = (sm.files ?? []).map(fileCard).join('');
    // The name is spelled out too: machines without a colour-emoji font draw the glyph as a box.
    const reactions = (sm.reactions ?? [])
      .map((r) => `<span class="pill" title=":${esc(r.name)}:">${emoji(r.name)} <span class="rname">${esc(r.name)}</span> <b>${r.count}</b></span>`)
      .join('');
    return `<div class="msg${ephemeral ? ' ephemeral' : ''}" data-ts="${esc(m.ts)}">
<div class="avatar" style="background:hsl(${hue(name)} 45% 45%)">${esc(name.slice(0, 1).toUpperCase())}</div>
<div class="main"><div class="head"><span class="name">${esc(name)}</span>${bot ? '<span class="app">APP</span>' : ''}<span class="time">${clock(m.ts)}</span>${sm.edited ? '<span class="time">(edited)</span>' : ''}</div>
${ephemeral ? '<div class="only-you">Only visible to you</div>' : ''}${sm.subtype === 'tombstone' ? '<div class="context">This message was deleted.</div>' : body}${files}${reactions ? `<div class="reactions">${reactions}</div>` : ''}</div></div>`;
  };

  const replies = thread.slice(1);
  const items = [
    message(root),
    replies.length ? `<div class="replies">${replies.length} ${replies.length === 1 ? 'reply' : 'replies'}</div>` : '',
    ...[...replies.map((r) => ({ ts: r.ts, html: message(r) })), ...ephemerals.map((e) => ({ ts: e.ts, html: message(e, true) }))]
      .sort((a, b) => Number(a.ts) - Number(b.ts))
      .map((x) => x.html),
  ];
  const channelName = store.channels.get(channel)?.name ?? channel;
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>Thread in #${esc(channelName)}</title>
<style>
body{margin:0;background:#fff;font:15px/1.46 -apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif,"Apple Color Emoji","Segoe UI Emoji","Noto Color Emoji";color:#1d1c1d}
.thread{max-width:760px;padding:12px 0}.title{padding:8px 20px;font-weight:700;border-bottom:1px solid #e8e8e8}
.msg{display:flex;gap:8px;padding:8px 20px}.msg:hover{background:#f8f8f8}.ephemeral{background:#f4f9ff}
.avatar{flex:none;width:36px;height:36px;border-radius:6px;color:#fff;font-weight:700;display:flex;align-items:center;justify-content:center}
.main{min-width:0;flex:1}.head{display:flex;gap:6px;align-items:baseline}.name{font-weight:900}
.app{font-size:10px;font-weight:700;background:#e8e8e8;color:#616061;border-radius:2px;padding:0 3px}.time{font-size:12px;color:#616061}
.only-you{font-size:12px;color:#616061}.text,.section{white-space:normal;overflow-wrap:anywhere}
code{font:12px Monaco,Menlo,monospace;color:#e01e5a;background:#f6f6f6;border:1px solid #ddd;border-radius:3px;padding:1px 3px}
pre.code,pre.preview{font:12px/1.5 Monaco,Menlo,monospace;background:#f8f8f8;border:1px solid #ddd;border-radius:4px;padding:8px;white-space:pre-wrap;margin:4px 0}
a{color:#1264a3;text-decoration:none}.mention{color:#1264a3;background:#e8f5fa;border-radius:3px;padding:0 2px}
.quote{display:inline-block;border-left:4px solid #ddd;padding-left:8px}
.header{font-size:18px;font-weight:900;margin:4px 0}.context{font-size:12px;color:#616061;margin:4px 0}
.section{display:flex;gap:8px;justify-content:space-between;margin:4px 0}.fields{display:grid;grid-template-columns:1fr 1fr;gap:4px 16px;margin-top:4px}
.actions{display:flex;gap:8px;margin:6px 0}.btn{border:1px solid #bbb;border-radius:4px;padding:2px 10px;font-size:13px;font-weight:700;white-space:nowrap}
.btn.primary{background:#007a5a;color:#fff;border-color:#007a5a}.btn.danger{color:#e01e5a;border-color:#e01e5a}
.image,.img-alt{color:#616061;font-style:italic}hr{border:0;border-top:1px solid #e8e8e8}
.file{border:1px solid #ddd;border-radius:8px;padding:8px 12px;margin:6px 0;max-width:480px}.file-head{display:flex;gap:10px;align-items:center}
.file-icon{flex:none;width:36px;height:36px;border-radius:6px;background:#1264a3;color:#fff;font-size:10px;font-weight:700;display:flex;align-items:center;justify-content:center}.file-name{font-weight:700}.file-meta{font-size:12px;color:#616061}
.reactions{display:flex;gap:4px;margin-top:4px}.pill{border:1px solid #ddd;border-radius:12px;padding:0 8px;font-size:12px;background:#f8f8f8}.rname{color:#616061;font-size:11px}
.replies{margin:4px 20px;padding-top:4px;border-top:1px solid #e8e8e8;font-size:13px;color:#616061}
</style></head>
<body><div class="thread"><div class="title">Thread · #${esc(channelName)}</div>
${items.filter(Boolean).join('\n')}
</div></body></html>`;
}
