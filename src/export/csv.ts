/** CSV (RFC 4180) lines for the export: every field quoted when it needs to be, CRLF line ends. */
import type { CommandLog, Message, Session } from '../sessions/types.ts';

function field(v: unknown): string {
  if (v === null || v === undefined) return '';
  const s = typeof v === 'string' ? v : typeof v === 'object' ? JSON.stringify(v) : String(v);
  return /[",\r\n]/.test(s) || s !== s.trim() ? `"${s.replace(/"/g, '""')}"` : s;
}

export const csvLine = (values: unknown[]) => `${values.map(field).join(',')}\r\n`;

export const SESSION_COLUMNS = [
  'id', 'claude_session_id', 'project_path', 'project_type', 'status', 'source', 'owner', 'created_at', 'updated_at',
  'managed', 'turn_state', 'cost_usd', 'input_tokens', 'output_tokens', 'num_turns', 'turns', 'metadata', 'run_options',
] as const;
export const MESSAGE_COLUMNS = ['id', 'session_id', 'direction', 'source', 'timestamp', 'content', 'metadata'] as const;
export const LOG_COLUMNS = [
  'id', 'session_id', 'tool_use_id', 'tool', 'status', 'duration_ms', 'timestamp', 'input', 'result', 'result_truncated', 'result_size', 'metadata',
] as const;

export const sessionCsv = (s: Session) => csvLine(SESSION_COLUMNS.map((c) => (c in s.totals ? s.totals[c as keyof Session['totals']] : s[c as keyof Session])));
export const messageCsv = (m: Message) => csvLine(MESSAGE_COLUMNS.map((c) => m[c]));
export const logCsv = (l: CommandLog) => csvLine(LOG_COLUMNS.map((c) => l[c]));
