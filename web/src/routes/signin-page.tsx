import { useState, type FormEvent } from 'react';
import { api, ApiError, errorText } from '../api/client.ts';
import { safeNext } from '../features/auth/access.ts';
import { useLocation } from './router.tsx';

const LINK_EXPIRED = 'That sign-in link was already used or has expired. Sign in with your key instead.';

function signInError(e: unknown): string {
  if (e instanceof ApiError && e.status === 401) return 'That key is unknown, expired or revoked.';
  if (e instanceof ApiError && e.status === 400) return 'That does not look like a key.';
  return `Could not sign in: ${errorText(e)}`;
}

/**
 * Sign-in with an API key. The key goes to the server once and is traded for an HttpOnly
 * cookie; it is never kept in the page (the field is emptied) nor in any storage.
 */
export function SignInPage() {
  const { search } = useLocation();
  const [error, setError] = useState<string | undefined>(search.get('error') === 'link_expired' ? LINK_EXPIRED : undefined);
  const [busy, setBusy] = useState(false);
  const submit = async (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const field = e.currentTarget.elements.namedItem('key') as HTMLInputElement;
    const key = field.value.trim();
    field.value = '';
    if (!key) return setError('Paste your API key.');
    setBusy(true);
    try {
      await api('POST', '/api/auth/signin', { key });
      // A full load: the app starts over as the signed-in user, live stream included.
      window.location.assign(safeNext(search.get('next')));
    } catch (err: unknown) {
      setError(signInError(err));
      setBusy(false);
      field.focus();
    }
  };
  return (
    <main className="page narrow signin">
      <h1>Sign in</h1>
      <p className="muted">
        Paste an API key (<code>cco keys create</code>, or the admin key printed at the first start). The browser keeps only a
        session cookie, not the key.
      </p>
      <form onSubmit={(e) => void submit(e)} noValidate>
        <label>
          <span>API key</span>
          {/* Uncontrolled: the key is never held in React state. */}
          <input name="key" type="password" autoComplete="off" spellCheck={false} autoFocus required disabled={busy} />
        </label>
        {error && <p className="notice error" role="alert">{error}</p>}
        <div className="form-foot">
          <button type="submit" className="primary" disabled={busy}>{busy ? 'Signing in…' : 'Sign in'}</button>
        </div>
      </form>
    </main>
  );
}
