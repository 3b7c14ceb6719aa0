import { ErrorNotice } from '../components/notices.tsx';
import { NewScheduleForm, SchedulesTable, useSchedules } from '../features/schedules/schedules.tsx';

/** Schedules (a user key: its own): next run times, pause/resume, and a form for a new one. */
export function SchedulesPage() {
  const q = useSchedules();
  return (
    <main className="page">
      <div className="page-head">
        <h1>Schedules</h1>
      </div>
      {q.isPending && <p className="muted">Loading schedules…</p>}
      {q.isError && <ErrorNotice error={q.error} what="the schedules" onRetry={() => void q.refetch()} />}
      {q.data && q.data.data.length === 0 && <p className="empty">No schedules yet.</p>}
      {q.data && q.data.data.length > 0 && <SchedulesTable schedules={q.data.data} />}
      <h2>New schedule</h2>
      <NewScheduleForm />
    </main>
  );
}
