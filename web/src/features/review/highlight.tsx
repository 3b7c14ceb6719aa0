/**
 * A small syntax colouring for diff lines: comments, strings, numbers and keywords of the common
 * languages, by file extension. One line at a time (a diff shows fragments, so a multi-line
 * string or comment is coloured where it is visible only); no dependency, a few regexes.
 */
import type { ReactNode } from 'react';

const KEYWORDS = new Set(
  ('abstract as async await break case catch class const continue def default defer del do elif else enum export extends false final finally fn for from func function go if impl import in interface is let match mod module new nil none null package private protected pub public return self static struct super switch this throw true try type typeof undefined use var void while with yield').split(' '),
);

type Lang = 'c' | 'hash' | 'markup' | 'plain';

const LANGS: Record<string, Lang> = {
  ts: 'c', tsx: 'c', js: 'c', jsx: 'c', mjs: 'c', cjs: 'c', java: 'c', kt: 'c', go: 'c', rs: 'c', c: 'c', h: 'c', cpp: 'c', cc: 'c', cs: 'c', swift: 'c', scala: 'c', php: 'c', css: 'c', scss: 'c', json: 'c',
  py: 'hash', rb: 'hash', sh: 'hash', bash: 'hash', zsh: 'hash', yml: 'hash', yaml: 'hash', toml: 'hash', r: 'hash', pl: 'hash', dockerfile: 'hash', makefile: 'hash', conf: 'hash', ini: 'hash', sql: 'hash',
  html: 'markup', xml: 'markup', svg: 'markup', vue: 'markup', md: 'plain', txt: 'plain',
};

export function languageOf(path: string): Lang {
  const name = path.split('/').pop()?.toLowerCase() ?? '';
  const ext = name.includes('.') ? name.split('.').pop()! : name;
  return LANGS[ext] ?? 'plain';
}

const PATTERNS: Record<Exclude<Lang, 'plain'>, RegExp> = {
  c: /(\/\/.*$|\/\*.*?(?:\*\/|$))|("(?:[^"\\]|\\.)*"?|'(?:[^'\\]|\\.)*'?|`(?:[^`\\]|\\.)*`?)|\b(\d[\d_.xXa-fA-F]*)\b|\b([A-Za-z_]\w*)\b/g,
  hash: /(#.*$|--\s.*$)|("(?:[^"\\]|\\.)*"?|'(?:[^'\\]|\\.)*'?)|\b(\d[\d_.]*)\b|\b([A-Za-z_]\w*)\b/g,
  markup: /(<!--.*?(?:-->|$))|("[^"]*"?|'[^']*'?)|()(<\/?[A-Za-z][\w:-]*|\/?>)/g,
};

/** The line as React nodes with token spans (class tok-comment, tok-string, tok-number, tok-keyword, tok-tag). */
export function highlightLine(text: string, lang: Lang): ReactNode[] {
  if (lang === 'plain' || text.length > 2000) return [text];
  const re = new RegExp(PATTERNS[lang].source, 'g');
  const out: ReactNode[] = [];
  let last = 0;
  let k = 0;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    if (m[0] === '') { re.lastIndex++; continue; }
    const cls = m[1] ? 'tok-comment' : m[2] ? 'tok-string' : m[3] ? 'tok-number' : m[4] ? (lang === 'markup' ? 'tok-tag' : KEYWORDS.has(m[4]) ? 'tok-keyword' : '') : '';
    if (!cls) continue;
    if (m.index > last) out.push(text.slice(last, m.index));
    out.push(<span key={k++} className={cls}>{m[0]}</span>);
    last = m.index + m[0].length;
  }
  if (last < text.length) out.push(text.slice(last));
  return out;
}
