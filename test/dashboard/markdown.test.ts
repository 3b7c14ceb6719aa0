/** The dashboard's Markdown parser (pure): structure, and that nothing becomes HTML or an unsafe link. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseInline, parseMarkdown, safeHref } from '../../web/src/components/markdown/parse.ts';

describe('parseMarkdown', () => {
  test('blocks: headings, paragraphs, fenced and indented code, quotes, lists, rules', () => {
    const md = '# Title\n\nSome text\nmore text\n\n```ts\nconst a = 1;\n\nconst b = 2;\n```\n\n    indented();\n\n> quoted\n\n- one\n- two\n\n3. three\n4. four\n\n---';
    assert.deepEqual(parseMarkdown(md).map((b) => b.kind), ['heading', 'paragraph', 'code', 'code', 'quote', 'list', 'list', 'rule']);
    const blocks = parseMarkdown(md);
    assert.deepEqual(blocks[2], { kind: 'code', lang: 'ts', text: 'const a = 1;\n\nconst b = 2;' });
    assert.deepEqual(blocks[3], { kind: 'code', lang: '', text: 'indented();' });
    const ordered = blocks[6];
    assert.ok(ordered?.kind === 'list' && ordered.ordered && ordered.start === 3 && ordered.items.length === 2);
  });

  test('an unclosed fence runs to the end (a message cut mid-block)', () => {
    assert.deepEqual(parseMarkdown('```\nline 1\nline 2'), [{ kind: 'code', lang: '', text: 'line 1\nline 2' }]);
  });

  test('list items keep continuation lines and nested content', () => {
    const [list] = parseMarkdown('- item one\n  continued\n- item two\n\n  second paragraph\n\nafter');
    assert.ok(list?.kind === 'list');
    assert.equal(list.items.length, 2);
    assert.equal(list.items[1]?.length, 2);
  });
});

describe('parseInline', () => {
  test('code, strong, em, strike-through, links and breaks', () => {
    assert.deepEqual(parseInline('a `b*c*` **d** *e* ~~f~~ [g](https://x.y/z)'), [
      { kind: 'text', text: 'a ' },
      { kind: 'code', text: 'b*c*' },
      { kind: 'text', text: ' ' },
      { kind: 'strong', children: [{ kind: 'text', text: 'd' }] },
      { kind: 'text', text: ' ' },
      { kind: 'em', children: [{ kind: 'text', text: 'e' }] },
      { kind: 'text', text: ' ' },
      { kind: 'del', children: [{ kind: 'text', text: 'f' }] },
      { kind: 'text', text: ' ' },
      { kind: 'link', href: 'https://x.y/z', children: [{ kind: 'text', text: 'g' }] },
    ]);
    assert.deepEqual(parseInline('line  \nnext').map((n) => n.kind), ['text', 'br', 'text']);
  });

  test('underscores inside words (snake_case, a__b__c) stay text', () => {
    assert.deepEqual(parseInline('call parse_date_value and my__dunder__name now'), [{ kind: 'text', text: 'call parse_date_value and my__dunder__name now' }]);
  });

  test('HTML is text; unsafe link targets are dropped', () => {
    assert.deepEqual(parseInline('<img src=x onerror=alert(1)>'), [{ kind: 'text', text: '<img src=x onerror=alert(1)>' }]);
    assert.deepEqual(parseInline('[x](javascript:alert(1))').filter((n) => n.kind === 'link'), []);
    for (const bad of ['javascript:alert(1)', 'JaVaScRiPt:x', 'data:text/html,hi', 'vbscript:x', ' javascript:x']) assert.equal(safeHref(bad), undefined, bad);
    for (const good of ['https://a.b', 'http://a.b', 'mailto:a@b.c', '/sessions/1', '#top', './x']) assert.equal(safeHref(good), good);
  });

  test('bare URLs become links; backslash escapes are literal', () => {
    assert.deepEqual(parseInline('see https://example.com/a.'), [
      { kind: 'text', text: 'see ' },
      { kind: 'link', href: 'https://example.com/a', children: [{ kind: 'text', text: 'https://example.com/a' }] },
      { kind: 'text', text: '.' },
    ]);
    assert.deepEqual(parseInline('\\*not em\\*'), [{ kind: 'text', text: '*not em*' }]);
  });
});
