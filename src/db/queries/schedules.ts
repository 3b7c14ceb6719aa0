/**
 * The schedule tables (migration 0017): schedules and their runs. Every function takes an executor,
 * so the scheduler can lock a due schedule, record its run and move it on in one transaction.
 */
import { sql, type Kysely, type Selectable, type Transaction } from 'kysely';
import type { DB, ScheduleRunsTable, SchedulesTable } from '../schema.ts';
import { jsonb } from './sessions.ts';

type Db = Kysely<DB> | Transaction<DB>;
export type ScheduleRow = Selectable<SchedulesTable>;
export type ScheduleRunRow = Selectable<ScheduleRunsTable>;

export interface NewSchedule {
  id: string;
  name: string;
  owner: string;
  cron: string;
  timezone: string;
  template: Record<string, unknown>;
  missed: string;
  status: string;
  next_run_at: Date | null;
}

export async function insertSchedule(db: Db, s: NewSchedule): Promise<ScheduleRow> {
  return db.insertInto('schedules').values({ ...s, template: jsonb(s.template) }).returningAll().executeTakeFirstOrThrow();
}

export async function findSchedule(db: Db, id: string): Promise<ScheduleRow | undefined> {
  return db.selectFrom('schedules').selectAll().where('id', '=', id).executeTakeFirst();
}

/** Oldest first; an owner's only, or all (undefined). */
export async function listSchedules(db: Db, owner: string | undefined, limit: number): Promise<ScheduleRow[]> {
  let q = db.selectFrom('schedules').selectAll();
  if (owner !== undefined) q = q.where('owner', '=', owner);
  return q.orderBy('created_at').orderBy('id').limit(limit).execute();
}

export interface ScheduleChange {
  name?: string | undefined;
  cron?: string | undefined;
  timezone?: string | undefined;
  template?: Record<string, unknown> | undefined;
  missed?: string | undefined;
  status?: string | undefined;
  next_run_at?: Date | null | undefined;
  last_run_at?: Date | undefined;
}

export async function updateSchedule(db: Db, id: string, c: ScheduleChange): Promise<ScheduleRow | undefined> {
  const { template, ...rest } = c;
  const set = Object.fromEntries(Object.entries(rest).filter(([, v]) => v !== undefined));
  return db
    .updateTable('schedules')
    .set({ ...set, ...(template ? { template: jsonb(template) } : {}), updated_at: sql`now()` })
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirst();
}

export async function deleteSchedule(db: Db, id: string): Promise<boolean> {
  const r = await db.deleteFrom('schedules').where('id', '=', id).executeTakeFirst();
  return Number(r.numDeletedRows) > 0;
}

/**
 * The most overdue active schedule, locked; one another scheduler holds is skipped (it is taking
 * care of it), so several schedulers share the due ones without waiting on each other.
 */
export async function lockDueSchedule(tx: Transaction<DB>, now: Date): Promise<ScheduleRow | undefined> {
  return tx
    .selectFrom('schedules')
    .selectAll()
    .where('status', '=', 'active')
    .where('next_run_at', '<=', now)
    .orderBy('next_run_at')
    .limit(1)
    .forUpdate()
    .skipLocked()
    .executeTakeFirst();
}

/** Records a run; undefined when this (schedule, time) already has one: it then happens once. */
export async function insertRun(db: Db, r: { schedule_id: string; scheduled_for: Date; session_id: string; catch_up: boolean }): Promise<ScheduleRunRow | undefined> {
  return db
    .insertInto('schedule_runs')
    .values(r)
    .onConflict((oc) => oc.columns(['schedule_id', 'scheduled_for']).doNothing())
    .returningAll()
    .executeTakeFirst();
}

export async function setRunState(db: Db, id: number, state: 'started' | 'failed', error: string | null): Promise<void> {
  await db.updateTable('schedule_runs').set({ state, error }).where('id', '=', id).execute();
}

/**
 * Runs claimed more than `olderThanMs` ago (by the database's clock, which wrote created_at) whose
 * session was never made (the process died in between), locked for the caller: the retry makes the
 * same session id, so a run is still made once.
 */
export async function lockStaleClaims(tx: Transaction<DB>, olderThanMs: number, limit: number): Promise<ScheduleRunRow[]> {
  return tx
    .selectFrom('schedule_runs')
    .selectAll()
    .where('state', '=', 'claimed')
    .where('created_at', '<', sql<Date>`now() - make_interval(secs => ${olderThanMs / 1000})`)
    .orderBy('id')
    .limit(limit)
    .forUpdate()
    .skipLocked()
    .execute();
}

/** A schedule's runs, newest first. */
export async function listRuns(db: Db, scheduleId: string, limit: number): Promise<ScheduleRunRow[]> {
  return db.selectFrom('schedule_runs').selectAll().where('schedule_id', '=', scheduleId).orderBy('scheduled_for', 'desc').limit(limit).execute();
}
