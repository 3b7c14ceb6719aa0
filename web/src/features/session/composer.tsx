import { useState, type KeyboardEvent } from 'react';
import { errorText } from '../../api/client.ts';
import type { Session } from '../../api/types.ts';
import { useSendMessage } from './use-session.ts';

/**
 * The message box. Enter with Ctrl or ⌘ sends; a failed send keeps the text and says why. In a
 * session the orchestrator only records (started by hand, seen through hooks) a message is recorded
 * and not run; "Run it" sends it with run: the orchestrator takes the session over and runs it.
 */
export function Composer({ session }: { session: Session }) {
  const send = useSendMessage(session.id);
  const [text, setText] = useState('');
  const closed = session.status === 'completed';
  const recordOnly = session.managed === false;
  const submit = (run?: boolean) => {
    const content = text.trim();
    if (!content || send.isPending) return;
    send.mutate({ content, run }, { onSuccess: () => setText('') });
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
      {recordOnly && !closed && (
        <p className="notice record-only" data-testid="record-only-note">
          This session was started by hand: the orchestrator only records it. A message you send is recorded in the conversation, not run.
          To have the orchestrator run Claude Code with it in {session.project_path || 'its folder'}, use Run it (the orchestrator then takes the session over).
        </p>
      )}
      <label htmlFor="composer-text" className="sr-only">Message to Claude</label>
      <textarea
        id="composer-text"
        name="message"
        rows={3}
        placeholder={closed ? 'This session is closed.' : recordOnly ? 'A note to record, or a prompt to run…' : 'Send a message to continue the session…'}
        value={text}
        disabled={closed}
        onChange={(e) => setText(e.target.value)}
        onKeyDown={onKey}
      />
      <div className="composer-foot">
        <span className="muted">{closed ? '' : recordOnly ? 'Send records it (Ctrl+Enter).' : hint}</span>
        <span className="actions">
          {recordOnly && !closed && (
            <button type="button" onClick={() => submit(true)} disabled={send.isPending || !text.trim()}>Run it</button>
          )}
          <button type="submit" className="primary" disabled={closed || send.isPending || !text.trim()}>{send.isPending ? 'Sending…' : 'Send'}</button>
        </span>
      </div>
      {send.isError && <p className="notice error" role="alert">Not sent: {errorText(send.error)}</p>}
    </form>
  );
}
