/** The session page's heading: the title (its folder when it has none), editable in place. */
import { useState } from 'react';
import { errorText } from '../../api/client.ts';
import type { Session } from '../../api/types.ts';
import { useSetTitle } from './use-session.ts';

export function SessionTitle({ session, writable }: { session: Session; writable: boolean }) {
  const save = useSetTitle(session.id);
  const [editing, setEditing] = useState(false);
  const [text, setText] = useState('');
  const name = session.title || session.project_path;
  if (!editing) {
    return (
      <div className="title-row">
        <h1 title={name}>{name}</h1>
        {writable && <button type="button" className="link" onClick={() => { setText(session.title ?? ''); setEditing(true); save.reset(); }}>Rename</button>}
      </div>
    );
  }
  const submit = () => {
    const title = text.trim();
    if (!title) return;
    save.mutate(title, { onSuccess: () => setEditing(false) });
  };
  return (
    <form className="title-edit" onSubmit={(e) => { e.preventDefault(); submit(); }}>
      <label htmlFor="session-title" className="sr-only">Session title</label>
      <input id="session-title" value={text} maxLength={200} autoFocus onChange={(e) => setText(e.target.value)} onKeyDown={(e) => { if (e.key === 'Escape') setEditing(false); }} />
      <button type="submit" className="primary" disabled={!text.trim() || save.isPending}>Save</button>
      <button type="button" onClick={() => setEditing(false)}>Cancel</button>
      {save.isError && <span className="notice error inline" role="alert">Not saved: {errorText(save.error)}</span>}
    </form>
  );
}
