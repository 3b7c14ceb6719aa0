/**
 * A small Markdown parser for assistant messages: headings, paragraphs, fenced
 * and indented code, block quotes, lists, rules; inline code, bold, italic,
 * strike-through and links. It builds a tree of plain data that markdown.tsx
 * turns into React elements, so nothing in a message is ever treated as HTML:
 * `<script>` stays text. Links keep only http(s), mailto and relative targets.
 */
export type Inline =
  | { kind: 'text'; text: string }
  | { kind: 'code'; text: string }
  | { kind: 'strong' | 'em' | 'del'; children: Inline[] }
  | { kind: 'link'; href: string; children: Inline[] }
  | { kind: 'br' };

export type Block =
  | { kind: 'heading'; level: 1 | 2 | 3 | 4 | 5 | 6; children: Inline[] }
  | { kind: 'paragraph'; children: Inline[] }
  | { kind: 'code'; lang: string; text: string }
  | { kind: 'quote'; children: Block[] }
  | { kind: 'list'; ordered: boolean; start: number; items: Block[][] }
  | { kind: 'rule' };

const FENCE = /^ {0,3}(`{3,}|~{3,})\s*([\w+#.-]*)/;
const HEADING = /^ {0,3}(#{1,6})\s+(.*?)\s*#*\s*$/;
const RULE = /^ {0,3}([-*_])(\s*\1){2,}\s*$/;
const QUOTE = /^ {0,3}>\s?/;
const ITEM = /^( {0,3})([-*+]|(\d{1,9})[.)])\s+/;

export function parseMarkdown(source: string): Block[] {
  return parseBlocks(source.replace(/\r\n?/g, '\n').split('\n'));
}

function parseBlocks(lines: string[]): Block[] {
  const blocks: Block[] = [];
  let i = 0;
  while (i < lines.length) {
    const line = lines[i] ?? '';
    if (line.trim() === '') {
      i++;
      continue;
    }
    const fence = FENCE.exec(line);
    if (fence) {
      const marker = fence[1] ?? '```';
      const body: string[] = [];
      i++;
      while (i < lines.length && !(lines[i] ?? '').trimStart().startsWith(marker)) body.push(lines[i++] ?? '');
      i++; // closing fence (or end of message)
      blocks.push({ kind: 'code', lang: fence[2] ?? '', text: body.join('\n') });
      continue;
    }
    if (/^( {4}|\t)/.test(line)) {
      const body: string[] = [];
      while (i < lines.length && (/^( {4}|\t)/.test(lines[i] ?? '') || (lines[i] ?? '').trim() === '')) body.push((lines[i++] ?? '').replace(/^( {4}|\t)/, ''));
      blocks.push({ kind: 'code', lang: '', text: body.join('\n').replace(/\n+$/, '') });
      continue;
    }
    const heading = HEADING.exec(line);
    if (heading) {
      blocks.push({ kind: 'heading', level: (heading[1]?.length ?? 1) as 1, children: parseInline(heading[2] ?? '') });
      i++;
      continue;
    }
    if (RULE.test(line)) {
      blocks.push({ kind: 'rule' });
      i++;
      continue;
    }
    if (QUOTE.test(line)) {
      const body: string[] = [];
      while (i < lines.length && QUOTE.test(lines[i] ?? '')) body.push((lines[i++] ?? '').replace(QUOTE, ''));
      blocks.push({ kind: 'quote', children: parseBlocks(body) });
      continue;
    }
    const item = ITEM.exec(line);
    if (item) {
      const r = parseList(lines, i, item);
      blocks.push(r.block);
      i = r.next;
      continue;
    }
    const para: string[] = [];
    while (i < lines.length) {
      const l = lines[i] ?? '';
      if (l.trim() === '' || FENCE.test(l) || HEADING.test(l) || QUOTE.test(l) || RULE.test(l) || (para.length > 0 && ITEM.test(l))) break;
      para.push(l);
      i++;
    }
    blocks.push({ kind: 'paragraph', children: parseInline(para.join('\n')) });
  }
  return blocks;
}

function parseList(lines: string[], start: number, first: RegExpExecArray): { block: Block; next: number } {
  const ordered = first[3] !== undefined;
  const items: string[][] = [];
  let i = start;
  while (i < lines.length) {
    const line = lines[i] ?? '';
    const m = ITEM.exec(line);
    if (m && (m[3] !== undefined) === ordered) {
      items.push([line.slice(m[0].length)]);
      i++;
      continue;
    }
    const current = items[items.length - 1];
    if (!current) break;
    if (line.trim() === '') {
      // A blank line ends the list unless the next line is indented or another item.
      const following = lines[i + 1] ?? '';
      if (!/^\s{2,}\S/.test(following) && !ITEM.test(following)) break;
      current.push('');
      i++;
      continue;
    }
    if (/^\s{2,}/.test(line)) {
      current.push(line.replace(/^\s{2,4}/, ''));
      i++;
      continue;
    }
    if (!m && current.length > 0 && (current[current.length - 1] ?? '') !== '') {
      current.push(line); // lazy continuation of the item's paragraph
      i++;
      continue;
    }
    break;
  }
  return { block: { kind: 'list', ordered, start: ordered ? Number(first[3]) : 1, items: items.map((it) => parseBlocks(it)) }, next: i };
}

const SAFE_HREF = /^(https?:\/\/|mailto:|\/|#|\.{0,2}\/)/i;

export function safeHref(href: string): string | undefined {
  const h = href.trim();
  return SAFE_HREF.test(h) ? h : undefined;
}

/** Inline spans, scanned left to right; anything unmatched is text. */
export function parseInline(text: string): Inline[] {
  const out: Inline[] = [];
  let buf = '';
  const flush = () => {
    if (buf) out.push({ kind: 'text', text: buf });
    buf = '';
  };
  let i = 0;
  while (i < text.length) {
    const rest = text.slice(i);
    const c = text[i];
    if (c === '\\' && i + 1 < text.length && /[\\`*_[\]()#+\-.!~>]/.test(text[i + 1] ?? '')) {
      buf += text[i + 1];
      i += 2;
      continue;
    }
    if (c === '`') {
      const ticks = /^`+/.exec(rest)?.[0] ?? '`';
      const end = text.indexOf(ticks, i + ticks.length);
      if (end > 0) {
        flush();
        out.push({ kind: 'code', text: text.slice(i + ticks.length, end).replace(/^ (.*) $/, '$1') });
        i = end + ticks.length;
        continue;
      }
    }
    const link = /^\[([^\]\n]*)\]\(([^)\s]*)(?:\s+"[^"]*")?\)/.exec(rest);
    if (link) {
      flush();
      const href = safeHref(link[2] ?? '');
      const children = parseInline(link[1] ?? '');
      out.push(href ? { kind: 'link', href, children } : { kind: 'text', text: link[1] ?? '' });
      i += link[0].length;
      continue;
    }
    const auto = /^https?:\/\/[^\s<>()]+[^\s<>().,;:!?'"]/.exec(rest);
    if (auto && (i === 0 || /[\s(]/.test(text[i - 1] ?? ''))) {
      flush();
      out.push({ kind: 'link', href: auto[0], children: [{ kind: 'text', text: auto[0] }] });
      i += auto[0].length;
      continue;
    }
    const span = /^(\*\*|__)(?=\S)([\s\S]*?\S)\1/.exec(rest) ?? /^(~~)(?=\S)([\s\S]*?\S)~~/.exec(rest) ?? /^([*_])(?=\S)([\s\S]*?\S)\1(?![*_])/.exec(rest);
    // Underscores inside words (snake_case, __dunder__) are text, as in CommonMark.
    const intraword = span?.[1]?.startsWith('_') && (/\w/.test(text[i - 1] ?? '') || /\w/.test(text[i + span[0].length] ?? ''));
    if (span && !intraword) {
      flush();
      const kind = span[1] === '~~' ? 'del' : span[1]?.length === 2 ? 'strong' : 'em';
      out.push({ kind, children: parseInline(span[2] ?? '') });
      i += span[0].length;
      continue;
    }
    if (c === '\n') {
      if (buf.endsWith('  ') || buf.endsWith('\\')) {
        buf = buf.replace(/( {2,}|\\)$/, '');
        flush();
        out.push({ kind: 'br' });
      } else buf += ' ';
      i++;
      continue;
    }
    buf += c;
    i++;
  }
  flush();
  return out;
}
