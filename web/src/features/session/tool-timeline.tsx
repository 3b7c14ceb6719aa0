import type { CommandLog } from '../../api/types.ts';
import { formatBytes, formatDuration, formatTime } from '../../components/format.ts';

/** A short line describing the call (the command, the file) so the timeline reads without expanding. */
function summary(l: CommandLog): string {
  const input = (l.input ?? {}) as Record<string, unknown>;
  const pick = input.command ?? input.file_path ?? input.path ?? input.pattern ?? input.url ?? input.description ?? input.prompt;
  const text = typeof pick === 'string' ? pick : '';
  return text.length > 120 ? `${text.slice(0, 117)}…` : text;
}

function pretty(v: unknown): string {
  if (typeof v === 'string') return v;
  try {
    return JSON.stringify(v, null, 2);
  } catch {
    return String(v);
  }
}

/** Bash results arrive as {"stdout","stderr",...} JSON: show the streams as text; anything else as it is. */
export function resultText(result: string | null): string {
  if (result === null || result === '') return '(no output)';
  if (!result.startsWith('{"stdout"')) return result;
  try {
    const r = JSON.parse(result) as { stdout?: unknown; stderr?: unknown };
    if (typeof r.stdout !== 'string') return result;
    const err = typeof r.stderr === 'string' && r.stderr ? `\n--- stderr ---\n${r.stderr}` : '';
    return (r.stdout || '(no output)') + err;
  } catch {
    return result; // cut when stored: the JSON is incomplete
  }
}

/** Tool executions, oldest first; input and output open with the keyboard (details/summary). */
export function ToolTimeline({ logs }: { logs: CommandLog[] }) {
  if (logs.length === 0) return <p className="empty">No tool calls yet.</p>;
  return (
    <ol className="timeline" aria-label="Tool calls" data-testid="tool-log">
      {logs.map((l) => (
        <li key={l.id} className={`tool ${l.status}`} data-log-id={l.id}>
          <details>
            <summary>
              <span className={`dot ${l.status}`} aria-hidden="true" />
              <strong className="tool-name">{l.tool}</strong>
              <span className="tool-summary">{summary(l)}</span>
              <span className="muted tool-meta">
                <span className="sr-only">status </span>{l.status} · <time dateTime={l.timestamp}>{formatTime(l.timestamp)}</time> · {formatDuration(l.duration_ms)}
              </span>
            </summary>
            <div className="tool-body">
              <h4>Input</h4>
              <pre tabIndex={0}>{pretty(l.input)}</pre>
              <h4>Output</h4>
              {l.result_truncated && (
                <p className="notice truncated" role="note">
                  Output cut to {formatBytes(l.result?.length ?? 0)} of {formatBytes(l.result_size ?? 0)} when stored.
                </p>
              )}
              <pre tabIndex={0}>{resultText(l.result)}</pre>
            </div>
          </details>
        </li>
      ))}
    </ol>
  );
}
