/** SQL for audit_log. Inserts only: the table refuses UPDATE, DELETE and TRUNCATE. */
import type { Selectable } from 'kysely';
import type { AuditLogTable } from '../schema.ts';
import { storableRow } from '../text.ts';
import { jsonb, type Executor } from './sessions.ts';

export type AuditRow = Selectable<AuditLogTable>;

export interface NewAuditRow {
  at: Date;
  actor: string;
  actor_role: string;
  actor_key_id: string | null;
  action: string;
  target: string | null;
  address: string | null;
  request_id: string | null;
  detail: Record<string, unknown>;
}

/** One statement for a whole batch (one round trip, one commit). */
export async function insertAuditEntries(db: Executor, rows: NewAuditRow[]): Promise<void> {
  if (rows.length === 0) return;
  await db
    .insertInto('audit_log')
    .values(rows.map((r) => {
      const s = storableRow(r, { in: 'detail' });
      return { ...s, detail: jsonb(s.detail) };
    }))
    .execute();
}

export interface AuditListQuery {
  limit: number;
  actor?: string | undefined;
  action?: string | undefined;
  target?: string | undefined;
  /** at >= from */
  from?: Date | undefined;
  /** at < to */
  to?: Date | undefined;
  /** Keyset position: rows with a smaller id (newest first). */
  beforeId?: number | undefined;
}

/** Newest first, keyset on id. */
export async function listAuditEntries(db: Executor, q: AuditListQuery): Promise<AuditRow[]> {
  let query = db.selectFrom('audit_log').selectAll();
  if (q.actor !== undefined) query = query.where('actor', '=', q.actor);
  if (q.action !== undefined) query = query.where('action', '=', q.action);
  if (q.target !== undefined) query = query.where('target', '=', q.target);
  if (q.from) query = query.where('at', '>=', q.from);
  if (q.to) query = query.where('at', '<', q.to);
  if (q.beforeId !== undefined) query = query.where('id', '<', q.beforeId);
  return query.orderBy('id', 'desc').limit(q.limit).execute();
}
