/**
 * The audit log: every change and every refused request, with who, what, on which
 * target, when, from where and under which request id. record() never throws and
 * never waits on the database: entries are queued and written in batches (group
 * commit, src/lib/batcher.ts), so auditing adds no round trip to a request. The
 * queue is bounded; past the bound entries are dropped, counted and logged, so a
 * flood of refused requests cannot grow memory without limit.
 */
import type { FastifyRequest } from 'fastify';
import { ANONYMOUS } from '../auth/principal.ts';
import type { Database } from '../db/database.ts';
import { insertAuditEntries, listAuditEntries, type AuditRow, type NewAuditRow } from '../db/queries/audit-log.ts';
import { decodeCursor, encodeCursor, isIdCursor } from '../lib/cursor.ts';
import { Batcher } from '../lib/batcher.ts';
import type { Logger } from '../logger.ts';

/** Stable action names (part of the API: filters and dashboards use them). */
export const AUDIT_ACTIONS = [
  'session.created',
  'session.status_changed',
  'message.sent',
  'key.created',
  'key.revoked',
  'auth.signin',
  'auth.signout',
  'request.refused',
  'slack.user_mapped',
  'slack.user_unmapped',
  'slack.channel_configured',
  'webhook.created',
  'webhook.deleted',
  'webhook.redelivered',
  // Schedules and budgets.
  'session.budget_changed',
  'schedule.created',
  'schedule.changed',
  'schedule.deleted',
  'approval.requested',
  'approval.decided',
] as const;
export type AuditAction = (typeof AUDIT_ACTIONS)[number];

/** Who acted: a Principal (src/auth/principal.ts) fits; ANONYMOUS_ACTOR for requests without one. */
export interface AuditActor {
  name: string;
  role: string;
  keyId?: string | undefined;
}

/**
 * A request without a key: refused before authentication, or on a public route. The auth
 * module's ANONYMOUS principal carries role viewer (what it may read); the log says what it was.
 */
export const ANONYMOUS_ACTOR: AuditActor = Object.freeze({ name: 'anonymous', role: 'anonymous', keyId: undefined });

export interface AuditEntry {
  actor: AuditActor;
  action: AuditAction;
  /** What was acted on: 'session:<uuid>', 'key:<id>'. */
  target?: string | undefined;
  address?: string | undefined;
  requestId?: string | undefined;
  /** Small facts about the change; never a key, token or Authorization header (secret-looking fields are blanked anyway). */
  detail?: Record<string, unknown> | undefined;
}

export interface AuditEntryView {
  id: number;
  at: string;
  actor: string;
  actor_role: string;
  actor_key_id: string | null;
  action: string;
  target: string | null;
  address: string | null;
  request_id: string | null;
  detail: Record<string, unknown>;
}

export interface AuditListInput {
  limit: number;
  cursor?: string | undefined;
  actor?: string | undefined;
  action?: string | undefined;
  target?: string | undefined;
  from?: Date | undefined;
  to?: Date | undefined;
}

export interface AuditLogOptions {
  /** Entries waiting to be written; past this, new entries are dropped. */
  maxQueued: number;
  /** request.refused entries are dropped earlier, so a flood of them leaves room for real changes. */
  maxQueuedRefused: number;
  maxBatch: number;
}

export const DEFAULT_AUDIT_OPTIONS: AuditLogOptions = { maxQueued: 10_000, maxQueuedRefused: 5_000, maxBatch: 200 };

const DROP_LOG_INTERVAL_MS = 10_000;
const SECRET_FIELD = /authorization|cookie|password|passwd|secret|token|api[_-]?key|^key$/i;
const MAX_DETAIL_CHARS = 4_000;

/** The request's part of an entry: actor, address and request id. */
export function auditContext(req: FastifyRequest): { actor: AuditActor; address: string; requestId: string } {
  // principal is declared on every request, but is null until the auth hook sets it (and on requests refused before it).
  const principal = req.principal as AuditActor | null | undefined;
  return { actor: principal && principal !== ANONYMOUS ? principal : ANONYMOUS_ACTOR, address: req.ip, requestId: req.id };
}

/** Where a request came from, for commands that record their own audit entries (SessionCommands). */
export function requestOrigin(req: FastifyRequest): { address: string; requestId: string } {
  return { address: req.ip, requestId: req.id };
}

export class AuditLog {
  readonly #batcher: Batcher<NewAuditRow, void>;
  readonly #inFlight = new Set<Promise<void>>();
  #queued = 0;
  #dropped = 0;
  #lastDropLog = 0;
  #stopping: Promise<void> | undefined;

  constructor(
    private readonly database: Database,
    private readonly logger: Logger,
    private readonly options: AuditLogOptions = DEFAULT_AUDIT_OPTIONS,
  ) {
    const write = async (rows: NewAuditRow[]) => {
      await insertAuditEntries(this.database.db, rows);
      return rows.map(() => undefined);
    };
    this.#batcher = new Batcher(write, async (row) => (await write([row]))[0], options.maxBatch);
  }

  /** Entries dropped since start (queue full, stopped, or a failed write). */
  get dropped(): number {
    return this.#dropped;
  }

  /** Queues an entry; never throws, never waits. */
  record(entry: AuditEntry): void {
    try {
      const limit = entry.action === 'request.refused' ? this.options.maxQueuedRefused : this.options.maxQueued;
      if (this.#stopping || this.#queued >= limit) {
        this.#drop(1, this.#stopping ? 'stopped' : 'queue_full');
        return;
      }
      const row = toRow(entry);
      this.#queued += 1;
      const p = this.#batcher.submit(row).then(
        () => undefined,
        (e: unknown) => {
          this.logger.warn({ err: e, action: row.action }, 'audit entry not written');
          this.#drop(1, 'write_failed');
        },
      ).finally(() => {
        this.#queued -= 1;
        this.#inFlight.delete(p);
      });
      this.#inFlight.add(p);
    } catch (e: unknown) {
      this.logger.warn({ err: e }, 'audit entry not recorded');
      this.#drop(1, 'invalid');
    }
  }

  /** Resolves when every entry recorded so far is written (or dropped). */
  async flush(): Promise<void> {
    while (this.#inFlight.size > 0) await Promise.allSettled([...this.#inFlight]);
  }

  /** Stops intake and writes what is queued; idempotent, concurrent callers share one promise. */
  stop(): Promise<void> {
    this.#stopping ??= this.flush();
    return this.#stopping;
  }

  /** Newest first; cursor = the last id of the previous page. */
  async list(q: AuditListInput): Promise<{ data: AuditEntryView[]; next_cursor: string | null }> {
    const beforeId = q.cursor ? decodeCursor(q.cursor, isIdCursor) : undefined;
    const rows = await listAuditEntries(this.database.db, { ...q, limit: q.limit + 1, beforeId });
    const page = rows.slice(0, q.limit);
    const last = page.at(-1);
    return { data: page.map(toView), next_cursor: rows.length > q.limit && last ? encodeCursor(last.id) : null };
  }

  #drop(n: number, reason: string): void {
    this.#dropped += n;
    const now = Date.now();
    if (now - this.#lastDropLog < DROP_LOG_INTERVAL_MS) return;
    this.#lastDropLog = now;
    this.logger.warn({ reason, dropped: this.#dropped }, 'audit entries dropped');
  }
}

function toRow(e: AuditEntry): NewAuditRow {
  return {
    at: new Date(),
    actor: e.actor.name,
    actor_role: e.actor.role,
    actor_key_id: e.actor.keyId ?? null,
    action: e.action,
    target: e.target ?? null,
    address: e.address ?? null,
    request_id: e.requestId ?? null,
    detail: safeDetail(e.detail ?? {}),
  };
}

/** Blanks secret-looking fields (at any depth) and bounds the size: the log is kept for years. */
export function safeDetail(detail: Record<string, unknown>): Record<string, unknown> {
  const scrub = (v: unknown, depth: number): unknown => {
    if (v === null || typeof v !== 'object') return v;
    if (depth > 5) return '[nested]';
    if (Array.isArray(v)) return v.slice(0, 50).map((x) => scrub(x, depth + 1));
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, SECRET_FIELD.test(k) ? '[redacted]' : scrub(x, depth + 1)]));
  };
  const clean = scrub(detail, 0) as Record<string, unknown>;
  const size = JSON.stringify(clean).length;
  return size > MAX_DETAIL_CHARS ? { truncated: true, size } : clean;
}

function toView(r: AuditRow): AuditEntryView {
  return {
    id: r.id,
    at: r.at.toISOString(),
    actor: r.actor,
    actor_role: r.actor_role,
    actor_key_id: r.actor_key_id,
    action: r.action,
    target: r.target,
    address: r.address,
    request_id: r.request_id,
    detail: r.detail,
  };
}
