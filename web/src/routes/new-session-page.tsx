import { NewSessionForm } from '../features/new-session/new-session-form.tsx';
import { Link } from './router.tsx';

export function NewSessionPage() {
  return (
    <main className="page narrow">
      <nav className="crumbs" aria-label="Breadcrumb"><Link to="/">Sessions</Link> /</nav>
      <h1>New session</h1>
      <NewSessionForm />
    </main>
  );
}
