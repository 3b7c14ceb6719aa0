import { useState, type KeyboardEvent } from 'react';
import { errorText } from '../../api/client.ts';
import type { Session } from '../../api/types.ts';
import { useSendMessage } from './use-session.ts';

/** The message box. Enter with Ctrl or ⌘ sends; a failed send keeps the text and says why. */
export function Composer({ session }: { session: Session }) {
  const send = useSendMessage(session.id);
  const [text, setText] = useState('');
  const closed = session.status === 'completed';
  const submit = () => {
    const content = text.trim();
    if (!content || send.isPending) return;
    send.mutate(content, { onSuccess: () => setText('') });
  };
  const onKey = (e: KeyboardEvent<HTMLTextAreaElement>) => {
    if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
      e.preventDefault();
      submit();
    }
  };
  const hint = session.turn_state === 'running' ? 'Claude is working; your message will be queued.' : 'Ctrl+Enter to send.';
  return (
    <form className="composer" onSubmit={(e) => { e.preventDefault(); submit(); }}>
      <label htmlFor="composer-text" className="sr-only">Message to Claude</label>
      <textarea
        id="composer-text"
        name="message"
        rows={3}
        placeholder={closed ? 'This session is closed.' : 'Send a message to continue the session…'}
        value={text}
        disabled={closed}
        onChange={(e) => setText(e.target.value)}
        onKeyDown={onKey}
      />
      <div className="composer-foot">
        <span className="muted">{closed ? '' : hint}</span>
        <button type="submit" className="primary" disabled={closed || send.isPending || !text.trim()}>{send.isPending ? 'Sending…' : 'Send'}</button>
      </div>
      {send.isError && <p className="notice error" role="alert">Not sent: {errorText(send.error)}</p>}
    </form>
  );
}
