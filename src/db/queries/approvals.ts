/** Approval requests (src/approvals). Status changes are conditional on `pending`: the first answer wins. */
import { sql, type Kysely, type Selectable } from 'kysely';
import type { ApprovalsTable, DB } from '../schema.ts';
import { storableRow } from '../text.ts';

export type ApprovalRow = Selectable<ApprovalsTable>;
export type Decision = 'allowed' | 'denied' | 'expired';

export interface NewApproval {
  id: string;
  session_id: string;
  turn_id: number | null;
  tool_use_id: string | null;
  tool_name: string;
  tool_input: Record<string, unknown>;
  call_hash: string;
  rule: Record<string, unknown> | null;
  requested_at: Date;
  expires_at: Date;
  timeout_action: 'allow' | 'deny';
  approvers: string[];
}

export async function insertApproval(db: Kysely<DB>, a: NewApproval): Promise<ApprovalRow> {
  // The input is redacted like every stored text; the hash was taken of the call itself.
  const { tool_input } = storableRow({ tool_input: a.tool_input });
  return db
    .insertInto('approvals')
    .values({ ...a, tool_input: JSON.stringify(tool_input), rule: a.rule ? JSON.stringify(a.rule) : null, approvers: JSON.stringify(a.approvers) })
    .returningAll()
    .executeTakeFirstOrThrow();
}

export function findApproval(db: Kysely<DB>, id: string): Promise<ApprovalRow | undefined> {
  return db.selectFrom('approvals').selectAll().where('id', '=', id).executeTakeFirst();
}

/** A request of the session for the same call that still waits (a call asked again attaches to it). */
export function findPendingCall(db: Kysely<DB>, sessionId: string, callHash: string): Promise<ApprovalRow | undefined> {
  return db.selectFrom('approvals').selectAll().where('session_id', '=', sessionId).where('call_hash', '=', callHash).where('status', '=', 'pending').orderBy('requested_at').executeTakeFirst();
}

/**
 * Takes an allow for this call: a session-wide one (any number of times), else the oldest
 * unused one-time allow, marked used in the same statement so that it lets the call run once.
 */
export async function takeAllow(db: Kysely<DB>, sessionId: string, callHash: string, at: Date): Promise<ApprovalRow | undefined> {
  const always = await db.selectFrom('approvals').selectAll().where('session_id', '=', sessionId).where('call_hash', '=', callHash).where('status', '=', 'allowed').where('scope', '=', 'session').executeTakeFirst();
  if (always) return always;
  const r = await sql<ApprovalRow>`
    update approvals set consumed_at = ${at}
    where id = (select id from approvals where session_id = ${sessionId} and call_hash = ${callHash}
                and consumed_at is null and (status = 'allowed' or (status = 'expired' and timeout_action = 'allow'))
                order by decided_at limit 1 for update skip locked)
    returning *`.execute(db);
  return r.rows[0];
}

/** The newest refusal of this call in the session that the model has not been told about in a turn yet. */
export function findRefusal(db: Kysely<DB>, sessionId: string, callHash: string): Promise<ApprovalRow | undefined> {
  return db
    .selectFrom('approvals')
    .selectAll()
    .where('session_id', '=', sessionId)
    .where('call_hash', '=', callHash)
    .where((eb) => eb.or([eb('status', '=', 'denied'), eb.and([eb('status', '=', 'expired'), eb('timeout_action', '=', 'deny')])]))
    .where('consumed_at', 'is', null)
    .orderBy('decided_at', 'desc')
    .executeTakeFirst();
}

export async function markConsumed(db: Kysely<DB>, id: string, at: Date): Promise<void> {
  await db.updateTable('approvals').set({ consumed_at: at }).where('id', '=', id).where('consumed_at', 'is', null).execute();
}

export interface DecisionInput {
  status: Decision;
  by: string;
  via: string;
  reason: string | null;
  scope: 'once' | 'session' | null;
  at: Date;
}

/** Stores a decision if the request still waits; undefined when someone else decided first. */
export async function decideApproval(db: Kysely<DB>, id: string, d: DecisionInput): Promise<ApprovalRow | undefined> {
  const { reason } = storableRow({ reason: d.reason });
  return db
    .updateTable('approvals')
    .set({ status: d.status, decided_by: d.by, decided_via: d.via, reason, scope: d.scope, decided_at: d.at })
    .where('id', '=', id)
    .where('status', '=', 'pending')
    .returningAll()
    .executeTakeFirst();
}

/**
 * A later turn asks for the same call while the request still waits: that turn waits on it now (a
 * decision during its wait is applied by its gate, not by a continuation). Undefined if decided meanwhile.
 */
export function rewaitApproval(db: Kysely<DB>, id: string, turnId: number): Promise<ApprovalRow | undefined> {
  return db.updateTable('approvals').set({ parked: false, turn_id: turnId }).where('id', '=', id).where('status', '=', 'pending').returningAll().executeTakeFirst();
}

/** The turn stopped waiting: a decision now continues the session. False when it was decided first. */
export async function parkApproval(db: Kysely<DB>, id: string): Promise<boolean> {
  const r = await db.updateTable('approvals').set({ parked: true }).where('id', '=', id).where('status', '=', 'pending').executeTakeFirst();
  return Number(r.numUpdatedRows) > 0;
}

/**
 * Requests whose turn is over without having used them (its process died while it waited, or it
 * ended before the gate read a decision): parked now, so a decision continues the session. A
 * decision the gate applied is marked consumed, so it is never continued a second time.
 */
export async function parkOrphans(db: Kysely<DB>): Promise<number> {
  const r = await sql`
    update approvals a set parked = true
    where not a.parked and (a.turn_id is null or exists (select 1 from turns t where t.id = a.turn_id and t.status not in ('queued', 'running')))
      and (a.status = 'pending' or a.consumed_at is null)`.execute(db);
  return Number(r.numAffectedRows ?? 0);
}

/** Pending requests past their time: expired, returned so that their sessions continue. */
export function expireDue(db: Kysely<DB>, at: Date): Promise<ApprovalRow[]> {
  return db
    .updateTable('approvals')
    .set({ status: 'expired', decided_at: at, decided_by: 'timeout', decided_via: 'timeout' })
    .where('status', '=', 'pending')
    .where('expires_at', '<=', at)
    .returningAll()
    .execute();
}

/** Decided, parked requests whose session has not been continued yet. */
export function toContinue(db: Kysely<DB>, limit = 100): Promise<ApprovalRow[]> {
  return db.selectFrom('approvals').selectAll().where('status', '<>', 'pending').where('parked', '=', true).where('continued_turn_id', 'is', null).orderBy('decided_at').limit(limit).execute();
}

/** Claims the continuation (inside the transaction that stores its turn): false if already done. */
export async function markContinued(db: Kysely<DB>, id: string, turnId: number): Promise<boolean> {
  const r = await db.updateTable('approvals').set({ continued_turn_id: turnId }).where('id', '=', id).where('continued_turn_id', 'is', null).executeTakeFirst();
  return Number(r.numUpdatedRows) > 0;
}

export interface ApprovalFilter {
  status?: string | undefined;
  session_id?: string | undefined;
  /** Only sessions of this owner (non-admins), plus requests naming `approver`. */
  owner?: string | undefined;
  approver?: string | undefined;
  cursor?: [string, string] | undefined;
  limit: number;
}

export async function listApprovals(db: Kysely<DB>, f: ApprovalFilter): Promise<(ApprovalRow & { session_title: string | null; project_path: string; owner: string | null })[]> {
  let q = db
    .selectFrom('approvals as a')
    .innerJoin('sessions as s', 's.id', 'a.session_id')
    .selectAll('a')
    .select(['s.project_path', 's.owner', sql<string | null>`null`.as('session_title')]);
  if (f.status) q = q.where('a.status', '=', f.status);
  if (f.session_id) q = q.where('a.session_id', '=', f.session_id);
  if (f.owner !== undefined) {
    const owner = f.owner;
    const approver = f.approver ?? owner;
    q = q.where((eb) => eb.or([eb('s.owner', '=', owner), sql<boolean>`a.approvers ? ${approver}`]));
  }
  if (f.cursor) {
    const [at, id] = f.cursor;
    q = q.where((eb) => eb.or([eb('a.requested_at', '<', new Date(at)), eb.and([eb('a.requested_at', '=', new Date(at)), eb('a.id', '<', id)])]));
  }
  return q.orderBy('a.requested_at', 'desc').orderBy('a.id', 'desc').limit(f.limit + 1).execute();
}

export function pendingCounts(db: Kysely<DB>, sessionIds: string[]): Promise<{ session_id: string; n: number }[]> {
  if (sessionIds.length === 0) return Promise.resolve([]);
  return db
    .selectFrom('approvals')
    .select(['session_id', sql<number>`count(*)::int`.as('n')])
    .where('session_id', 'in', sessionIds)
    .where('status', '=', 'pending')
    .groupBy('session_id')
    .execute();
}

/** A session's requests made or decided in the last `withinS` seconds, oldest first (webhook events). */
export function recentApprovals(db: Kysely<DB>, sessionId: string, withinS: number): Promise<ApprovalRow[]> {
  const since = sql<Date>`now() - make_interval(secs => ${withinS})`;
  return db
    .selectFrom('approvals')
    .selectAll()
    .where('session_id', '=', sessionId)
    .where((eb) => eb.or([eb('requested_at', '>', since), eb('decided_at', '>', since)]))
    .orderBy('requested_at')
    .limit(500)
    .execute();
}
