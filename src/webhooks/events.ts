/**
 * The webhook events and their data, derived from stored rows (sessions, turns, status changes,
 * the turn's last assistant message). Part of the API: the README lists these shapes, the n8n
 * node reads them. Each event has a key that names it for good (`turn.completed:42`): it is the
 * body's `id`, and a subscription gets each key at most once (the delivery table's unique key).
 */
import type { Transaction } from 'kysely';
import type { DB } from '../db/schema.ts';
import { turnAnswer } from '../db/queries/turns.ts';

export const WEBHOOK_EVENTS = ['session.created', 'turn.started', 'turn.completed', 'turn.failed', 'session.status_changed', 'session.completed', 'approval.requested', 'approval.decided'] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENTS)[number];

/** Turn statuses after which nothing more happens to the turn. */
export const FINAL_TURN = ['completed', 'error', 'interrupted', 'timed_out', 'cancelled'];

/** Longer answers and prompts are cut (with `answer_truncated`): receivers get a bounded body. */
export const ANSWER_MAX_CHARS = 64 * 1024;
const PROMPT_MAX_CHARS = 4 * 1024;

export interface DerivedEvent {
  key: string;
  type: WebhookEventType;
  at: Date;
  data: Record<string, unknown>;
}

export interface SessionFacts {
  id: string;
  status: string;
  owner: string | null;
  project_path: string;
  project_type: string;
  /** The session's title (first prompt line or user-set); null before any prompt. */
  title: string | null;
  source: string;
  managed: boolean;
  created_at: Date;
  updated_at: Date;
  metadata: Record<string, unknown>;
  cost_usd: number;
  input_tokens: number;
  output_tokens: number;
  turns: number;
}

export interface TurnFacts {
  id: number;
  status: string;
  prompt: string;
  source: string;
  started_at: Date | null;
  ended_at: Date | null;
  cost_usd: number | null;
  input_tokens: number | null;
  output_tokens: number | null;
  num_turns: number | null;
  duration_ms: number | null;
  error: string | null;
  subtype: string | null;
}

/** Turns stopped from outside record no error of their own: say what stopped them. */
const WHY: Record<string, string> = {
  timed_out: 'the turn ran past its time limit (timeout_s) and was stopped',
  interrupted: 'the turn was interrupted (the session was paused or closed, or the server stopped)',
  cancelled: 'the session was closed before the turn began',
};

const cut = (text: string, max: number) => (text.length > max ? { text: text.slice(0, max), truncated: true } : { text, truncated: false });
const iso = (d: Date | null) => (d ? new Date(d).toISOString() : null);

export function dashboardUrl(publicUrl: string, sessionId: string): string {
  return `${publicUrl}/sessions/${sessionId}`;
}

export function sessionCreated(s: SessionFacts, publicUrl: string): DerivedEvent {
  return {
    key: `session.created:${s.id}`,
    type: 'session.created',
    at: new Date(s.created_at),
    data: {
      session_id: s.id, title: s.title, status: s.status, owner: s.owner, source: s.source, project_type: s.project_type, project_path: s.project_path,
      managed: s.managed, created_at: iso(s.created_at), url: dashboardUrl(publicUrl, s.id),
    },
  };
}

export function turnStarted(s: SessionFacts, t: TurnFacts, publicUrl: string): DerivedEvent {
  const prompt = cut(t.prompt, PROMPT_MAX_CHARS);
  return {
    key: `turn.started:${t.id}`,
    type: 'turn.started',
    at: new Date(t.started_at!),
    data: { session_id: s.id, title: s.title, turn_id: t.id, prompt: prompt.text, prompt_truncated: prompt.truncated, source: t.source, started_at: iso(t.started_at), url: dashboardUrl(publicUrl, s.id) },
  };
}

/** turn.completed for a completed turn, turn.failed for one that errored, timed out, was interrupted or cancelled after its start. */
export async function turnEnded(tx: Transaction<DB>, s: SessionFacts, t: TurnFacts, publicUrl: string): Promise<DerivedEvent> {
  // The turn's answer: its last assistant message (stored between its start and its end).
  const answer = await turnAnswer(tx, { session_id: s.id, started_at: t.started_at, ended_at: t.ended_at });
  const a = cut(answer ?? '', ANSWER_MAX_CHARS);
  const changes = (s.metadata.workspace as { changes?: { files_changed?: number; files?: { path: string }[] } } | undefined)?.changes;
  const completed = t.status === 'completed';
  const durationMs = t.duration_ms ?? (t.started_at && t.ended_at ? new Date(t.ended_at).getTime() - new Date(t.started_at).getTime() : null);
  return {
    key: `${completed ? 'turn.completed' : 'turn.failed'}:${t.id}`,
    type: completed ? 'turn.completed' : 'turn.failed',
    at: new Date(t.ended_at ?? Date.now()),
    data: {
      session_id: s.id,
      turn_id: t.id,
      status: t.status,
      answer: answer === undefined ? null : a.text,
      answer_truncated: a.truncated,
      cost_usd: t.cost_usd === null ? null : Number(t.cost_usd),
      input_tokens: t.input_tokens,
      output_tokens: t.output_tokens,
      num_turns: t.num_turns,
      duration_ms: durationMs,
      files_changed: changes?.files_changed ?? null,
      files: (changes?.files ?? []).slice(0, 100).map((f) => f.path),
      ...(completed ? {} : { error: t.error ?? WHY[t.status] ?? null, subtype: t.subtype }),
      started_at: iso(t.started_at),
      ended_at: iso(t.ended_at),
      title: s.title,
      url: dashboardUrl(publicUrl, s.id),
    },
  };
}

export function statusChanged(s: SessionFacts, c: { id: number; from_status: string; to_status: string; at: Date }, publicUrl: string): DerivedEvent {
  return {
    key: `session.status_changed:${c.id}`,
    type: 'session.status_changed',
    at: new Date(c.at),
    data: { session_id: s.id, title: s.title, from: c.from_status, to: c.to_status, changed_at: iso(c.at), url: dashboardUrl(publicUrl, s.id) },
  };
}

export function sessionCompleted(s: SessionFacts, at: Date, publicUrl: string): DerivedEvent {
  return {
    key: `session.completed:${s.id}`,
    type: 'session.completed',
    at,
    data: {
      session_id: s.id, title: s.title, status: s.status, owner: s.owner, completed_at: at.toISOString(),
      totals: { cost_usd: Number(s.cost_usd), input_tokens: Number(s.input_tokens), output_tokens: Number(s.output_tokens), turns: Number(s.turns) },
      url: dashboardUrl(publicUrl, s.id),
    },
  };
}

export interface ApprovalFacts {
  id: string;
  turn_id: number | null;
  tool_name: string;
  tool_input: unknown;
  rule: Record<string, unknown> | null;
  status: string;
  requested_at: Date;
  expires_at: Date;
  timeout_action: string;
  approvers: string[];
  decided_at: Date | null;
  decided_by: string | null;
  decided_via: string | null;
  reason: string | null;
  scope: string | null;
}

/**
 * approval.requested (a tool call waits: n8n can route it and answer with POST decision_url) and
 * approval.decided (who, how, from where; `expired` when no one answered in time).
 */
export function approvalEvents(s: SessionFacts, a: ApprovalFacts, publicUrl: string): DerivedEvent[] {
  const base = { session_id: s.id, title: s.title, approval_id: a.id, turn_id: a.turn_id === null ? null : Number(a.turn_id), tool_name: a.tool_name, url: `${publicUrl}/approvals` };
  const out: DerivedEvent[] = [{
    key: `approval.requested:${a.id}`,
    type: 'approval.requested',
    at: new Date(a.requested_at),
    data: {
      ...base, tool_input: a.tool_input, rule: a.rule, requested_at: iso(a.requested_at), expires_at: iso(a.expires_at), timeout_action: a.timeout_action,
      approvers: a.approvers, owner: s.owner, decision_url: `${publicUrl}/api/approvals/${a.id}/decision`, session_url: dashboardUrl(publicUrl, s.id),
    },
  }];
  if (a.status !== 'pending') {
    out.push({
      key: `approval.decided:${a.id}`,
      type: 'approval.decided',
      at: new Date(a.decided_at ?? Date.now()),
      data: { ...base, status: a.status, decided_by: a.decided_by, decided_via: a.decided_via, decided_at: iso(a.decided_at), reason: a.reason, scope: a.scope },
    });
  }
  return out;
}
