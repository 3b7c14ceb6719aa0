/**
 * Approval requests: made by a turn's gate (gate.ts) for a call its policy marks `ask`, decided by
 * a person through the API, the dashboard or Slack (the first answer wins), expired by the sweep.
 * A decision that comes after the turn stopped waiting ("parked") continues the session with a new
 * turn whose prompt hands the call back (allowed) or says why not (denied), exactly once whichever
 * process stores it (the continuation turn and its mark are one transaction).
 */
import { randomUUID } from 'node:crypto';
import type { AuditLog } from '../audit/audit-log.ts';
import { seesAll, type Principal } from '../auth/principal.ts';
import type { Database } from '../db/database.ts';
import * as q from '../db/queries/approvals.ts';
import type { ApprovalRow, Decision } from '../db/queries/approvals.ts';
import type { EventBus } from '../events/bus.ts';
import { decodeCursor, encodeCursor, isTimeIdCursor } from '../lib/cursor.ts';
import { AppError, conflict, notFound } from '../lib/errors.ts';
import type { Logger } from '../logger.ts';
import type { SessionService } from '../sessions/service.ts';
import { callHash, type Policy, type Rule, type ToolCall } from './policy.ts';

export const APPROVAL_STATES = ['pending', 'allowed', 'denied', 'expired'] as const;
export type DecidedVia = 'api' | 'dashboard' | 'slack' | 'n8n';

export interface ApprovalView {
  id: string;
  session_id: string;
  turn_id: number | null;
  tool_use_id: string | null;
  tool_name: string;
  tool_input: unknown;
  rule: Record<string, unknown> | null;
  status: (typeof APPROVAL_STATES)[number];
  requested_at: string;
  expires_at: string;
  timeout_action: 'allow' | 'deny';
  approvers: string[];
  decided_at: string | null;
  decided_by: string | null;
  decided_via: string | null;
  reason: string | null;
  scope: 'once' | 'session' | null;
  /** The allowed call ran (its first run, for a session-wide allow). */
  consumed_at: string | null;
  /** The turn that continued the session after a late decision. */
  continued_turn_id: number | null;
  session?: { project_path: string; owner: string | null } | undefined;
}

export interface DecisionCommand {
  decision: 'allow' | 'deny';
  reason?: string | undefined;
  scope?: 'once' | 'session' | undefined;
}

/** Continues a session after a late decision (SessionCommands.continueAfterApproval). */
export type Continuer = (approval: ApprovalRow, prompt: string) => Promise<void>;

export interface ApprovalServiceDeps {
  database: Database;
  events: EventBus;
  sessions: SessionService;
  audit: AuditLog;
  logger: Logger;
  timeoutS: number;
  /** The clock requests are timed by (tests move it). */
  clock?: (() => Date) | undefined;
  /** How often the sweep looks for expired requests and sessions to continue, ms. */
  sweepMs?: number | undefined;
}

export function toView(r: ApprovalRow & { project_path?: string; owner?: string | null }): ApprovalView {
  const iso = (d: Date | null) => (d ? new Date(d).toISOString() : null);
  return {
    id: r.id,
    session_id: r.session_id,
    turn_id: r.turn_id === null ? null : Number(r.turn_id),
    tool_use_id: r.tool_use_id,
    tool_name: r.tool_name,
    tool_input: r.tool_input,
    rule: r.rule,
    status: r.status as ApprovalView['status'],
    requested_at: new Date(r.requested_at).toISOString(),
    expires_at: new Date(r.expires_at).toISOString(),
    timeout_action: r.timeout_action as 'allow' | 'deny',
    approvers: r.approvers,
    decided_at: iso(r.decided_at),
    decided_by: r.decided_by,
    decided_via: r.decided_via,
    reason: r.reason,
    scope: r.scope as ApprovalView['scope'],
    consumed_at: iso(r.consumed_at),
    continued_turn_id: r.continued_turn_id === null ? null : Number(r.continued_turn_id),
    ...(r.project_path !== undefined ? { session: { project_path: r.project_path, owner: r.owner ?? null } } : {}),
  };
}

/** What the decision means for the call: run it, or refuse it (and why). */
export function outcomeOf(r: ApprovalRow): 'allow' | 'deny' | 'pending' {
  if (r.status === 'allowed') return 'allow';
  if (r.status === 'denied') return 'deny';
  if (r.status === 'expired') return r.timeout_action === 'allow' ? 'allow' : 'deny';
  return 'pending';
}

export class ApprovalService {
  readonly #waiters = new Map<string, Set<() => void>>();
  #continuer: Continuer | undefined;
  #timer: NodeJS.Timeout | undefined;
  #sweeping: Promise<void> | undefined;
  /** The pass queued behind the running one (see sweep). */
  #sweepAgain: Promise<void> | undefined;
  #unsubscribe: (() => void) | undefined;

  constructor(private readonly deps: ApprovalServiceDeps) {}

  get now(): Date {
    return this.deps.clock?.() ?? new Date();
  }

  private get db() {
    return this.deps.database.db;
  }

  /** Set by the composition root (SessionCommands is made after this service). */
  setContinuer(c: Continuer): void {
    this.#continuer = c;
  }

  /** A call the policy marks `ask`: attaches to a pending request for the same call, or makes one. */
  async request(r: { sessionId: string; turnId: number; toolUseId: string | undefined; call: ToolCall; rule: Rule | undefined; policy: Policy }): Promise<ApprovalRow> {
    const hash = callHash(r.call);
    const pending = await q.findPendingCall(this.db, r.sessionId, hash);
    if (pending) return (await q.rewaitApproval(this.db, pending.id, r.turnId)) ?? (await q.findApproval(this.db, pending.id))!;
    const at = this.now;
    const row = await q.insertApproval(this.db, {
      id: randomUUID(),
      session_id: r.sessionId,
      turn_id: r.turnId,
      tool_use_id: r.toolUseId ?? null,
      tool_name: r.call.tool_name,
      tool_input: r.call.tool_input,
      call_hash: hash,
      rule: r.rule ? { ...r.rule } : null,
      requested_at: at,
      expires_at: new Date(at.getTime() + (r.policy.timeout_s ?? this.deps.timeoutS) * 1000),
      timeout_action: r.policy.timeout_action ?? 'deny',
      approvers: r.policy.approvers ?? [],
    });
    this.#published(row);
    this.deps.audit.record({ actor: { name: 'system', role: 'admin' }, action: 'approval.requested', target: `session:${row.session_id}`, detail: { approval_id: row.id, tool: row.tool_name, turn_id: r.turnId } });
    this.deps.logger.info({ sessionId: r.sessionId, approvalId: row.id, tool: row.tool_name }, 'approval requested');
    return row;
  }

  /** Waits up to `ms` for a decision; the row as it stands then. */
  async wait(id: string, ms: number, signal?: AbortSignal): Promise<ApprovalRow> {
    const deadline = Date.now() + ms;
    for (;;) {
      const row = await q.findApproval(this.db, id);
      if (!row) throw notFound('approval', id);
      if (row.status !== 'pending' || Date.now() >= deadline || signal?.aborted) return row;
      // Woken at once by a decision made in this process; other processes' are seen by the poll.
      await new Promise<void>((resolve) => {
        const set = this.#waiters.get(id) ?? new Set();
        this.#waiters.set(id, set);
        const done = () => {
          clearTimeout(t);
          set.delete(done);
          if (set.size === 0) this.#waiters.delete(id);
          signal?.removeEventListener('abort', done);
          resolve();
        };
        const t = setTimeout(done, Math.min(250, Math.max(0, deadline - Date.now())));
        set.add(done);
        signal?.addEventListener('abort', done, { once: true });
      });
    }
  }

  /** The turn stops waiting; false when a decision came first (the caller reads it). */
  park(id: string): Promise<boolean> {
    return q.parkApproval(this.db, id);
  }

  /** An allow for this call that may be used now (consumed by this call unless session-wide). */
  takeAllow(sessionId: string, call: ToolCall): Promise<ApprovalRow | undefined> {
    return q.takeAllow(this.db, sessionId, callHash(call), this.now);
  }

  /** A refusal of this call the model has not met yet (marked met). */
  async takeRefusal(sessionId: string, call: ToolCall): Promise<ApprovalRow | undefined> {
    const row = await q.findRefusal(this.db, sessionId, callHash(call));
    if (row) await q.markConsumed(this.db, row.id, this.now);
    return row;
  }

  markConsumed(id: string): Promise<void> {
    return q.markConsumed(this.db, id, this.now);
  }

  async get(actor: Principal, id: string): Promise<ApprovalView> {
    const row = await q.findApproval(this.db, id);
    if (!row) throw notFound('approval', id);
    const session = await this.deps.sessions.get(row.session_id);
    if (!seesAll(actor) && session.owner !== actor.owner && !row.approvers.includes(actor.name)) throw notFound('approval', id);
    return toView({ ...row, project_path: session.project_path, owner: session.owner });
  }

  async list(actor: Principal, f: { status?: string | undefined; session_id?: string | undefined; cursor?: string | undefined; limit: number }): Promise<{ data: ApprovalView[]; next_cursor: string | null }> {
    const cursor = f.cursor ? decodeCursor(f.cursor, isTimeIdCursor) : undefined;
    const rows = await q.listApprovals(this.db, { status: f.status, session_id: f.session_id, owner: seesAll(actor) ? undefined : actor.owner, approver: actor.name, cursor, limit: f.limit });
    const page = rows.slice(0, f.limit);
    const last = page.at(-1);
    return { data: page.map(toView), next_cursor: rows.length > f.limit && last ? encodeCursor([new Date(last.requested_at).toISOString(), last.id]) : null };
  }

  /** Who may decide: the session's owner, admins, and the key names the policy lists. */
  async decide(actor: Principal, id: string, d: DecisionCommand, via: DecidedVia, origin: { address?: string | undefined; requestId?: string | undefined } = {}): Promise<ApprovalView> {
    const row = await q.findApproval(this.db, id);
    if (!row) throw notFound('approval', id);
    const session = await this.deps.sessions.get(row.session_id);
    const named = row.approvers.includes(actor.name);
    const owns = session.owner !== null && session.owner === actor.owner && (actor.role === 'user' || actor.role === 'admin');
    if (actor.role !== 'admin' && !owns && !named) {
      if (!seesAll(actor) && session.owner !== actor.owner) throw notFound('approval', id);
      throw new AppError('forbidden', 'only the session owner, an admin or an approver the policy names may decide', 403);
    }
    const status: Decision = d.decision === 'allow' ? 'allowed' : 'denied';
    const decided = await q.decideApproval(this.db, id, { status, by: actor.name, via, reason: d.reason?.trim() || null, scope: d.decision === 'allow' ? (d.scope ?? 'once') : null, at: this.now });
    if (!decided) {
      const now = (await q.findApproval(this.db, id))!;
      throw conflict('already_decided', `already ${now.status} by ${now.decided_by ?? 'someone'} at ${now.decided_at ? new Date(now.decided_at).toISOString() : 'an earlier time'}`, { status: now.status, decided_by: now.decided_by, decided_at: now.decided_at, decided_via: now.decided_via });
    }
    this.deps.audit.record({ actor, ...origin, action: 'approval.decided', target: `session:${decided.session_id}`, detail: { approval_id: id, decision: status, via, scope: decided.scope, tool: decided.tool_name } });
    this.deps.logger.info({ sessionId: decided.session_id, approvalId: id, decision: status, by: actor.name, via }, 'approval decided');
    this.#decided(decided);
    return toView({ ...decided, project_path: session.project_path, owner: session.owner });
  }

  /** Starts the sweep: expiries, and sessions whose late decisions are not continued yet. */
  start(): void {
    if (this.#timer) return;
    this.#unsubscribe = this.deps.events.subscribe((e) => {
      if (e.type === 'approval.updated') this.#wake(e.approval.id);
    });
    this.#timer = setInterval(() => void this.sweep(), this.deps.sweepMs ?? 1000);
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    this.#unsubscribe?.();
    this.#unsubscribe = undefined;
    await this.#sweepAgain;
    await this.#sweeping;
  }

  /**
   * One pass that starts after this call (also called by tests after moving the clock). A pass
   * already running may have read the clock and the due requests before the call, so the caller
   * gets the next pass, shared with whoever else asks meanwhile.
   */
  sweep(): Promise<void> {
    if (this.#sweeping) {
      this.#sweepAgain ??= this.#sweeping.then(() => {
        this.#sweepAgain = undefined;
        return this.sweep();
      });
      return this.#sweepAgain;
    }
    this.#sweeping = (async () => {
      try {
        for (const row of await q.expireDue(this.db, this.now)) {
          this.deps.audit.record({ actor: { name: 'system', role: 'admin' }, action: 'approval.decided', target: `session:${row.session_id}`, detail: { approval_id: row.id, decision: 'expired', via: 'timeout', becomes: row.timeout_action, tool: row.tool_name } });
          this.#decided(row);
        }
        await q.parkOrphans(this.db);
        for (const row of await q.toContinue(this.db)) await this.#continue(row);
      } catch (e: unknown) {
        this.deps.logger.warn({ err: e }, 'approval sweep failed; retried on the next pass');
      } finally {
        this.#sweeping = undefined;
      }
    })();
    return this.#sweeping;
  }

  #decided(row: ApprovalRow): void {
    this.#published(row);
    this.#wake(row.id);
    // A parked request continues its session now; one whose turn still waits is taken by the gate.
    if (row.parked) void this.#continue(row);
  }

  async #continue(row: ApprovalRow): Promise<void> {
    if (!this.#continuer) return;
    try {
      await this.#continuer(row, continuationPrompt(row));
    } catch (e: unknown) {
      this.deps.logger.warn({ err: e, approvalId: row.id, sessionId: row.session_id }, 'continuing the session after a decision failed; the sweep retries');
    }
  }

  #published(row: ApprovalRow): void {
    this.deps.events.publish({ type: 'approval.updated', approval: toView(row) });
  }

  #wake(id: string): void {
    for (const w of [...(this.#waiters.get(id) ?? [])]) w();
  }
}

/** The prompt of the turn that continues a session after a late decision. */
export function continuationPrompt(r: ApprovalRow): string {
  const who = r.status === 'expired' ? 'No one answered in time, and the policy' : (r.decided_by ?? 'Someone');
  const why = r.reason ? ` Reason: ${r.reason}` : '';
  if (outcomeOf(r) === 'allow') {
    const call = JSON.stringify({ name: r.tool_name, input: r.tool_input });
    return `[Approval ${r.id}] ${who} allowed your ${r.tool_name} call.${why}\nRun it again now, exactly as before:\n<approved_tool_call>\n${call}\n</approved_tool_call>`;
  }
  const verb = r.status === 'expired' ? 'refused it (timed out)' : 'denied your ' + r.tool_name + ' call';
  return `[Approval ${r.id}] ${who} ${verb}.${why}\nDo not run that call. Continue without it, or explain what you would need.`;
}
