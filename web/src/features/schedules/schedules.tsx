/** The schedules page's parts: the list with next run times and pause/resume, and the create form. */
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { type FormEvent } from 'react';
import { api, errorText } from '../../api/client.ts';
import { formatTime } from '../../components/format.ts';

export interface Schedule {
  id: string;
  name: string;
  owner: string;
  cron: string;
  timezone: string;
  template: { prompt?: string; budget_usd?: number } & Record<string, unknown>;
  missed: 'skip' | 'run_once';
  status: 'active' | 'paused';
  next_run_at: string | null;
  next_runs: string[];
  last_run_at: string | null;
}

const KEY = ['schedules'] as const;

export function useSchedules() {
  return useQuery({ queryKey: KEY, queryFn: () => api<{ data: Schedule[] }>('GET', '/api/schedules?limit=200'), refetchInterval: 30_000, retry: false });
}

function usePatch() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (p: { id: string; status: 'active' | 'paused' }) => api<Schedule>('PATCH', `/api/schedules/${p.id}`, { status: p.status }),
    onSuccess: () => void qc.invalidateQueries({ queryKey: KEY }),
  });
}

export function SchedulesTable({ schedules }: { schedules: Schedule[] }) {
  const patch = usePatch();
  return (
    <div className="table-scroll">
      {patch.isError && <p className="notice error" role="alert">Not changed: {errorText(patch.error)}</p>}
      <table className="audit" data-testid="schedules">
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">When</th>
            <th scope="col">Next runs</th>
            <th scope="col">Last run</th>
            <th scope="col">Owner</th>
            <th scope="col">Status</th>
          </tr>
        </thead>
        <tbody>
          {schedules.map((s) => (
            <tr key={s.id} data-schedule-id={s.id}>
              <td>
                {s.name}
                {s.template.budget_usd !== undefined && <div className="muted">budget ${s.template.budget_usd} per run</div>}
              </td>
              <td><code>{s.cron}</code> <span className="muted">{s.timezone}</span></td>
              <td data-testid="next-runs">
                {s.next_runs.length === 0 ? <span className="muted">paused</span> : s.next_runs.map((t) => <div key={t}><time dateTime={t}>{formatTime(t)}</time></div>)}
              </td>
              <td>{s.last_run_at ? <time dateTime={s.last_run_at}>{formatTime(s.last_run_at)}</time> : <span className="muted">never</span>}</td>
              <td>{s.owner}</td>
              <td>
                <span data-testid="schedule-status">{s.status}</span>{' '}
                <button type="button" disabled={patch.isPending} onClick={() => patch.mutate({ id: s.id, status: s.status === 'active' ? 'paused' : 'active' })}>
                  {s.status === 'active' ? 'Pause' : 'Resume'}
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** Only filled-in fields are sent, so the server's defaults (UTC, skip) apply to the rest. */
export function buildScheduleBody(f: FormData): Record<string, unknown> {
  const get = (k: string) => String(f.get(k) ?? '').trim();
  const template: Record<string, unknown> = { prompt: get('prompt') };
  if (get('project_path')) template.project_path = get('project_path');
  if (get('budget_usd')) template.budget_usd = Number(get('budget_usd'));
  const body: Record<string, unknown> = { name: get('name'), cron: get('cron'), template };
  if (get('timezone')) body.timezone = get('timezone');
  if (get('missed')) body.missed = get('missed');
  return body;
}

export function NewScheduleForm() {
  const qc = useQueryClient();
  const create = useMutation({
    mutationFn: (body: Record<string, unknown>) => api<Schedule>('POST', '/api/schedules', body),
    onSuccess: () => void qc.invalidateQueries({ queryKey: KEY }),
  });
  const submit = (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    create.mutate(buildScheduleBody(new FormData(e.currentTarget)));
  };
  return (
    <form className="new-session" onSubmit={submit} noValidate aria-label="New schedule">
      <label>
        <span>Name</span>
        <input name="name" placeholder="nightly dependency check" autoComplete="off" />
      </label>
      <label>
        <span>Cron</span>
        <input name="cron" placeholder="0 9 * * 1-5" autoComplete="off" />
      </label>
      <label>
        <span>Time zone</span>
        <input name="timezone" placeholder="UTC" defaultValue={Intl.DateTimeFormat().resolvedOptions().timeZone} autoComplete="off" />
      </label>
      <label>
        <span>Missed runs</span>
        <select name="missed" defaultValue="skip">
          <option value="skip">skip</option>
          <option value="run_once">run once</option>
        </select>
      </label>
      <label>
        <span>Project path</span>
        <input name="project_path" placeholder="empty: a new folder per run" autoComplete="off" />
      </label>
      <label>
        <span>Budget per run (USD)</span>
        <input name="budget_usd" inputMode="decimal" placeholder="no limit" autoComplete="off" />
      </label>
      <label className="wide">
        <span>Prompt</span>
        <textarea name="prompt" rows={3} placeholder="What should Claude do at each run?" />
      </label>
      {create.isError && <p className="notice error" role="alert">Not created: {errorText(create.error)}</p>}
      {create.isSuccess && <p className="notice" role="status">Schedule created.</p>}
      <div className="form-foot">
        <button type="submit" className="primary" disabled={create.isPending}>{create.isPending ? 'Creating…' : 'Create schedule'}</button>
      </div>
    </form>
  );
}
