import { canCreate } from '../features/auth/access.ts';
import { useMe } from '../features/auth/auth.tsx';
import { NewSessionForm } from '../features/new-session/new-session-form.tsx';
import { Link } from './router.tsx';

export function NewSessionPage() {
  const me = useMe();
  return (
    <main className="page narrow">
      <nav className="crumbs" aria-label="Breadcrumb"><Link to="/">Sessions</Link> /</nav>
      <h1>New session</h1>
      {canCreate(me) ? <NewSessionForm /> : <p className="notice" role="status">Signed in as a {me.role}, you can read sessions but not start them.</p>}
    </main>
  );
}
