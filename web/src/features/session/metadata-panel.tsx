import type { Session } from '../../api/types.ts';
import { formatCost, formatTime } from '../../components/format.ts';

const RUN_KEYS = ['model', 'permission_mode', 'allowed_tools'] as const;

function show(v: unknown): string {
  if (v === undefined || v === null || v === '') return '–';
  if (Array.isArray(v)) return v.length ? v.join(', ') : '–';
  return typeof v === 'object' ? JSON.stringify(v) : String(v);
}

/**
 * Identity, workspace, model, tokens and cost; the metadata's plain values as key/value rows, and
 * the whole metadata as JSON folded away (the workspace record and other nested values live there).
 */
export function MetadataPanel({ session }: { session: Session }) {
  const run = session.run_options ?? {};
  const t = session.totals;
  const other = Object.entries(session.metadata).filter(([, v]) => v === null || typeof v !== 'object');
  // preparing while a clone runs in the background, failed if it could not be made (README, Workspace state).
  const state = (session.metadata.workspace as { state?: unknown } | undefined)?.state;
  const notReady = typeof state === 'string' && state !== 'ready' ? `, workspace ${state}` : '';
  const rows: [string, string][] = [
    ['Title', show(session.title)],
    ['Session id', session.id],
    ['Claude session id', show(session.claude_session_id)],
    ['Workspace', `${session.project_path || '–'} (${session.project_type}${notReady})`],
    ['Source', session.source],
    ['Owner', show(session.owner)],
    ['Run by the orchestrator', session.managed ? 'yes' : session.managed === false ? 'no (recorded only)' : '–'],
    ['Created', formatTime(session.created_at)],
    ['Model', run.model === undefined && session.managed ? 'default' : show(run.model)],
    ['Permission mode', show(run.permission_mode)],
    ['Allowed tools', show(run.allowed_tools)],
    ['Turns', show(t?.turns ?? t?.num_turns)],
    ['Tokens in / out', t ? `${t.input_tokens ?? 0} / ${t.output_tokens ?? 0}` : '–'],
    ['Cost', formatCost(t?.cost_usd)],
    ...(session.budget_usd != null || session.budget_reached_at ? [['Budget', `${session.budget_usd != null ? formatCost(session.budget_usd) : 'owner per day'}${session.budget_reached_at ? ' (reached: paused until raised)' : ''}`] as [string, string]] : []),
    ...Object.entries(run).filter(([k]) => !(RUN_KEYS as readonly string[]).includes(k)).map(([k, v]): [string, string] => [`run.${k}`, show(v)]),
    ...other.map(([k, v]): [string, string] => [k, show(v)]),
  ];
  return (
    <>
      <dl className="meta" data-testid="metadata">
        {rows.map(([k, v]) => (
          <div key={k}>
            <dt>{k}</dt>
            <dd>{v}</dd>
          </div>
        ))}
      </dl>
      <details className="raw-json" data-testid="raw-metadata">
        <summary>Raw metadata (JSON)</summary>
        <pre>{JSON.stringify(session.metadata, null, 2)}</pre>
      </details>
    </>
  );
}
