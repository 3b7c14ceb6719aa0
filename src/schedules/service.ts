/**
 * Schedules: a session template started at the times a cron expression names, as its owner. The
 * rules are those of sessions: a schedule belongs to whoever made it; users see and change their
 * own (another's is a 404), admins all, viewers may read all. Runs are made by the Scheduler.
 */
import { randomUUID } from 'node:crypto';
import type { AuditLog, AuditEntry } from '../audit/audit-log.ts';
import { seesAll, type Principal } from '../auth/principal.ts';
import type { Database } from '../db/database.ts';
import { deleteSchedule, findSchedule, insertSchedule, listRuns, listSchedules, updateSchedule, type ScheduleChange, type ScheduleRow, type ScheduleRunRow } from '../db/queries/schedules.ts';
import type { Clock } from '../lib/clock.ts';
import { AppError, notFound } from '../lib/errors.ts';
import { checkCron, checkTimezone, nextTimes } from './cron.ts';

export const MISSED_POLICIES = ['skip', 'run_once'] as const;
export type MissedPolicy = (typeof MISSED_POLICIES)[number];
export const SCHEDULE_STATUSES = ['active', 'paused'] as const;
export type ScheduleStatus = (typeof SCHEDULE_STATUSES)[number];

export interface Schedule {
  id: string;
  name: string;
  owner: string;
  cron: string;
  timezone: string;
  template: Record<string, unknown>;
  missed: MissedPolicy;
  status: ScheduleStatus;
  next_run_at: string | null;
  /** The next few times after next_run_at too (for people reading the schedule). */
  next_runs: string[];
  last_run_at: string | null;
  created_at: string;
  updated_at: string;
}

export interface ScheduleRun {
  id: number;
  schedule_id: string;
  scheduled_for: string;
  session_id: string;
  state: 'claimed' | 'started' | 'failed';
  error: string | null;
  catch_up: boolean;
  created_at: string;
}

export interface NewScheduleInput {
  name: string;
  cron: string;
  timezone: string;
  template: Record<string, unknown>;
  missed: MissedPolicy;
  status?: ScheduleStatus | undefined;
}

export type ScheduleChangeInput = Partial<NewScheduleInput>;

const iso = (d: Date | null) => (d ? new Date(d).toISOString() : null);
const NEXT_SHOWN = 3;

export function toScheduleRun(r: ScheduleRunRow): ScheduleRun {
  return { id: Number(r.id), schedule_id: r.schedule_id, scheduled_for: iso(r.scheduled_for)!, session_id: r.session_id, state: r.state as ScheduleRun['state'], error: r.error, catch_up: r.catch_up, created_at: iso(r.created_at)! };
}

export class ScheduleService {
  constructor(private readonly deps: { database: Database; clock: Clock; audit?: AuditLog | undefined }) {}

  private get db() {
    return this.deps.database.db;
  }

  toSchedule(r: ScheduleRow): Schedule {
    const next = r.status === 'active' && r.next_run_at ? nextTimes(r.cron, r.timezone, new Date(r.next_run_at), NEXT_SHOWN - 1) : [];
    return {
      id: r.id,
      name: r.name,
      owner: r.owner,
      cron: r.cron,
      timezone: r.timezone,
      template: r.template,
      missed: r.missed as MissedPolicy,
      status: r.status as ScheduleStatus,
      next_run_at: r.status === 'active' ? iso(r.next_run_at) : null,
      next_runs: r.status === 'active' && r.next_run_at ? [iso(r.next_run_at)!, ...next.map((d) => d.toISOString())] : [],
      last_run_at: iso(r.last_run_at),
      created_at: iso(r.created_at)!,
      updated_at: iso(r.updated_at)!,
    };
  }

  async create(actor: Principal, input: NewScheduleInput, origin: Pick<AuditEntry, 'address' | 'requestId'> = {}): Promise<Schedule> {
    if (actor.role !== 'admin' && actor.role !== 'user') throw new AppError('forbidden', `a ${actor.role} key may not create schedules`, 403);
    const timezone = checkTimezone(input.timezone);
    const cron = checkCron(input.cron, timezone);
    const status = input.status ?? 'active';
    const row = await insertSchedule(this.db, {
      id: randomUUID(),
      name: input.name,
      owner: actor.owner,
      cron,
      timezone,
      template: input.template,
      missed: input.missed,
      status,
      next_run_at: nextTimes(cron, timezone, this.deps.clock.now())[0]!,
    });
    this.deps.audit?.record({ actor, ...origin, action: 'schedule.created', target: `schedule:${row.id}`, detail: { name: input.name, cron, timezone } });
    return this.get(actor, row.id);
  }

  async get(actor: Principal, id: string): Promise<Schedule> {
    return this.toSchedule(await this.#visible(actor, id));
  }

  async list(actor: Principal, limit: number): Promise<Schedule[]> {
    const rows = await listSchedules(this.db, seesAll(actor) ? undefined : actor.owner, limit);
    return rows.map((r) => this.toSchedule(r));
  }

  async runs(actor: Principal, id: string, limit: number): Promise<ScheduleRun[]> {
    await this.#visible(actor, id);
    return (await listRuns(this.db, id, limit)).map(toScheduleRun);
  }

  /**
   * Pause, resume or change. A resumed schedule, or one with a new cron or time zone, is next due
   * at its next time from now: times that passed while it was paused are not made up.
   */
  async update(actor: Principal, id: string, c: ScheduleChangeInput, origin: Pick<AuditEntry, 'address' | 'requestId'> = {}): Promise<Schedule> {
    const current = await this.#changeable(actor, id);
    const timezone = c.timezone !== undefined ? checkTimezone(c.timezone) : current.timezone;
    const cron = c.cron !== undefined ? checkCron(c.cron, timezone) : current.cron;
    const status = c.status ?? (current.status as ScheduleStatus);
    const change: ScheduleChange = { name: c.name, template: c.template, missed: c.missed, status: c.status, cron: c.cron !== undefined ? cron : undefined, timezone: c.timezone };
    const retimed = cron !== current.cron || timezone !== current.timezone || (status === 'active' && current.status !== 'active');
    if (retimed) change.next_run_at = nextTimes(cron, timezone, this.deps.clock.now())[0]!;
    const row = await updateSchedule(this.db, id, change);
    if (!row) throw notFound('schedule', id);
    this.deps.audit?.record({ actor, ...origin, action: 'schedule.changed', target: `schedule:${id}`, detail: { fields: Object.keys(c), status } });
    return this.toSchedule(row);
  }

  async delete(actor: Principal, id: string, origin: Pick<AuditEntry, 'address' | 'requestId'> = {}): Promise<void> {
    await this.#changeable(actor, id);
    if (!(await deleteSchedule(this.db, id))) throw notFound('schedule', id);
    this.deps.audit?.record({ actor, ...origin, action: 'schedule.deleted', target: `schedule:${id}`, detail: {} });
  }

  async #visible(actor: Principal, id: string): Promise<ScheduleRow> {
    const row = await findSchedule(this.db, id);
    if (!row || (!seesAll(actor) && row.owner !== actor.owner)) throw notFound('schedule', id);
    return row;
  }

  async #changeable(actor: Principal, id: string): Promise<ScheduleRow> {
    const row = await findSchedule(this.db, id);
    if (!row) throw notFound('schedule', id);
    if (actor.role === 'admin') return row;
    if (actor.role === 'user' && row.owner === actor.owner) return row;
    if (actor.role === 'user' || actor.role === 'hook') throw notFound('schedule', id);
    throw new AppError('forbidden', `a ${actor.role} key may not change schedules`, 403);
  }
}
