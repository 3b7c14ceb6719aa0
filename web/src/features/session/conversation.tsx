import { useEffect, useRef } from 'react';
import type { Message } from '../../api/types.ts';
import { formatTime } from '../../components/format.ts';
import { Markdown } from '../../components/markdown/markdown.tsx';

const LABEL = { user: 'User', assistant: 'Claude', system: 'System' } as const;

/** A message that continued the session after an approval decision carries metadata.approval = {id, status}. */
function approvalOf(m: Message): { id?: unknown; status?: unknown } | undefined {
  const a = m.metadata?.approval;
  return a && typeof a === 'object' ? (a as { id?: unknown; status?: unknown }) : undefined;
}

/** The conversation, oldest first; follows new messages while the reader is at the bottom. */
export function Conversation({ messages }: { messages: Message[] }) {
  const end = useRef<HTMLDivElement>(null);
  const atBottom = useRef(true);
  useEffect(() => {
    const onScroll = () => {
      atBottom.current = window.innerHeight + window.scrollY >= document.body.scrollHeight - 200;
    };
    window.addEventListener('scroll', onScroll, { passive: true });
    return () => window.removeEventListener('scroll', onScroll);
  }, []);
  useEffect(() => {
    if (atBottom.current) end.current?.scrollIntoView({ block: 'end' });
  }, [messages.length]);
  if (messages.length === 0) return <p className="empty">No messages yet.</p>;
  return (
    <ol className="conversation" aria-label="Conversation" data-testid="conversation">
      {messages.map((m) => (
        <li key={m.id} className={`message ${m.direction}`} data-message-id={m.id}>
          <header>
            <strong>{LABEL[m.direction]}</strong>
            <span className="muted"> · {m.source} · <time dateTime={m.timestamp}>{formatTime(m.timestamp)}</time></span>
            {approvalOf(m) && <span className="tag approval-tag" data-testid="approval-tag" title="Sent by the orchestrator after an approval decision">approval {String(approvalOf(m)?.status ?? '')}</span>}
          </header>
          {m.direction === 'assistant' ? <Markdown text={m.content} /> : <div className="plain">{m.content}</div>}
        </li>
      ))}
      <div ref={end} />
    </ol>
  );
}
