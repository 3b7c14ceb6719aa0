import { useMutation } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { api, errorText } from '../../api/client.ts';
import { PERMISSION_MODES, PROJECT_TYPES, type Session } from '../../api/types.ts';
import { navigate } from '../../routes/router.tsx';

/** Only filled-in fields are sent, so the server's defaults apply to the rest. */
export function buildCreateBody(f: FormData): Record<string, unknown> {
  const get = (k: string) => String(f.get(k) ?? '').trim();
  const body: Record<string, unknown> = { project_type: get('project_type') || 'local', source: 'dashboard' };
  if (get('project_path')) body.project_path = get('project_path');
  if (get('prompt')) body.prompt = get('prompt');
  if (get('prompt') && get('permission_mode')) body.permission_mode = get('permission_mode');
  const tools = get('allowed_tools').split(/[\s,]+/).filter(Boolean);
  if (get('prompt') && tools.length) body.allowed_tools = tools;
  if (get('prompt') && get('model')) body.model = get('model');
  return body;
}

export function NewSessionForm() {
  const [missing, setMissing] = useState(false);
  const create = useMutation({
    mutationFn: (body: Record<string, unknown>) => api<Session>('POST', '/api/sessions', body),
    onSuccess: (s) => navigate(`/sessions/${s.id}`),
  });
  const submit = (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const body = buildCreateBody(new FormData(e.currentTarget));
    setMissing(!body.project_path && !body.prompt);
    if (body.project_path || body.prompt) create.mutate(body);
  };
  return (
    <form className="new-session" onSubmit={submit} noValidate>
      <label>
        <span>Project path</span>
        <input name="project_path" placeholder="/home/me/src/api (empty: a new folder is made)" autoComplete="off" />
      </label>
      <label>
        <span>Project type</span>
        <select name="project_type" defaultValue="local">
          {PROJECT_TYPES.map((t) => <option key={t} value={t}>{t}</option>)}
        </select>
      </label>
      <label className="wide">
        <span>Prompt</span>
        <textarea name="prompt" rows={6} placeholder="What should Claude do? (empty: a session without a first turn)" />
      </label>
      <label>
        <span>Permission mode</span>
        <select name="permission_mode" defaultValue="acceptEdits">
          {PERMISSION_MODES.map((m) => <option key={m} value={m}>{m}</option>)}
        </select>
      </label>
      <label>
        <span>Allowed tools</span>
        <input name="allowed_tools" placeholder="Read, Edit, Bash(npm test:*)" autoComplete="off" />
      </label>
      <label>
        <span>Model</span>
        <input name="model" placeholder="server default" autoComplete="off" />
      </label>
      {missing && <p className="notice error" role="alert">Give a project path, a prompt, or both.</p>}
      {create.isError && <p className="notice error" role="alert">Not created: {errorText(create.error)}</p>}
      <div className="form-foot">
        <button type="submit" className="primary" disabled={create.isPending}>{create.isPending ? 'Starting…' : 'Start session'}</button>
      </div>
    </form>
  );
}
