/** Renders parseMarkdown's tree as React elements: text stays text, so a message can never inject HTML. */
import { memo, type ReactNode } from 'react';
import { parseMarkdown, type Block, type Inline } from './parse.ts';

function inline(nodes: Inline[]): ReactNode[] {
  return nodes.map((n, i) => {
    switch (n.kind) {
      case 'text':
        return n.text;
      case 'code':
        return <code key={i}>{n.text}</code>;
      case 'strong':
        return <strong key={i}>{inline(n.children)}</strong>;
      case 'em':
        return <em key={i}>{inline(n.children)}</em>;
      case 'del':
        return <del key={i}>{inline(n.children)}</del>;
      case 'link':
        return (
          <a key={i} href={n.href} target="_blank" rel="noopener noreferrer nofollow">
            {inline(n.children)}
          </a>
        );
      case 'br':
        return <br key={i} />;
      default:
        return assertNever(n);
    }
  });
}

function block(b: Block, key: number): ReactNode {
  switch (b.kind) {
    case 'heading': {
      const H = `h${Math.min(b.level + 2, 6)}` as 'h3'; // message headings sit below the page's own
      return <H key={key}>{inline(b.children)}</H>;
    }
    case 'paragraph':
      return <p key={key}>{inline(b.children)}</p>;
    case 'code':
      return (
        <pre key={key} className="code-block" data-lang={b.lang || undefined} tabIndex={0}>
          <code>{b.text}</code>
        </pre>
      );
    case 'quote':
      return <blockquote key={key}>{b.children.map(block)}</blockquote>;
    case 'list': {
      const items = b.items.map((item, i) => <li key={i}>{item.map(block)}</li>);
      return b.ordered ? (
        <ol key={key} start={b.start}>
          {items}
        </ol>
      ) : (
        <ul key={key}>{items}</ul>
      );
    }
    case 'rule':
      return <hr key={key} />;
    default:
      return assertNever(b);
  }
}

function assertNever(x: never): never {
  throw new Error(`unhandled markdown node ${JSON.stringify(x)}`);
}

export const Markdown = memo(function Markdown({ text }: { text: string }) {
  return <div className="markdown">{parseMarkdown(text).map(block)}</div>;
});
