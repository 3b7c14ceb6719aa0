/**
 * Makes the runs of due schedules. Every process that serves the API runs one; they share the work
 * through the database, not through pg-boss's own cron (whose clock is the database's, which a test
 * cannot move): a tick locks one due schedule at a time (FOR UPDATE SKIP LOCKED), records its run
 * under the unique (schedule, time) and moves next_run_at on, in one transaction, so each run is
 * claimed by exactly one scheduler however many see it due. The session is then made through
 * SessionCommands as the schedule's owner (source `schedule`), with the id chosen at the claim: a
 * scheduler that dies in between leaves a claimed run that the next tick anywhere makes, once.
 *
 * What is due is decided with the injected Clock. A due time older than `missedGraceMs` was missed
 * (the servers were down): policy `skip` makes no run for it, `run_once` makes one run for all the
 * times missed. A due time within the grace runs normally.
 */
import { randomUUID } from 'node:crypto';
import type { Principal } from '../auth/principal.ts';
import type { BudgetsConfig } from '../budgets/budgets.ts';
import type { Database } from '../db/database.ts';
import { findSession } from '../db/queries/sessions.ts';
import { findSchedule, insertRun, lockDueSchedule, lockStaleClaims, setRunState, updateSchedule, type ScheduleRow, type ScheduleRunRow } from '../db/queries/schedules.ts';
import type { Clock } from '../lib/clock.ts';
import { AppError } from '../lib/errors.ts';
import type { Logger } from '../logger.ts';
import type { CreateSessionCommand, SessionCommands } from '../runner/session-commands.ts';
import type { ProjectType } from '../sessions/types.ts';
import { latestAtOrBefore, nextTimes } from './cron.ts';

export interface SchedulerOptions {
  /** SCHEDULE_TICK_S in ms: how often due schedules are looked for (0: only when tick() is called). */
  tickMs: number;
  /** SCHEDULE_MISSED_GRACE_S in ms: a due time older than this was missed (downtime). */
  missedGraceMs: number;
}

/** Most runs one tick makes; the rest wait for the next tick (or another scheduler). */
const MAX_PER_TICK = 50;
/** A claimed run whose session is not made after this long is made by the next tick. */
const STALE_CLAIM_MS = 60_000;

export class Scheduler {
  #timer: NodeJS.Timeout | undefined;
  #ticking: Promise<number> | undefined;
  #stopped = false;

  constructor(
    private readonly deps: {
      database: Database;
      commands: SessionCommands;
      clock: Clock;
      logger: Logger;
      /** The principal a schedule's runs act as (its owner's key); undefined: the owner has no usable key. */
      principalFor: (owner: string) => Promise<Principal | undefined>;
      budgets?: BudgetsConfig | undefined;
      options: SchedulerOptions;
    },
  ) {}

  private get db() {
    return this.deps.database.db;
  }

  start(): void {
    this.#stopped = false;
    if (this.deps.options.tickMs <= 0) return;
    const loop = () => {
      this.#timer = setTimeout(() => {
        void this.tick().finally(() => {
          if (!this.#stopped) loop();
        });
      }, this.deps.options.tickMs);
      this.#timer.unref();
    };
    loop();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#ticking?.catch(() => {});
  }

  /** Makes every run due now (and any claimed run left unmade); returns how many sessions it made. */
  tick(): Promise<number> {
    this.#ticking ??= this.#tick()
      .catch((e: unknown) => {
        this.deps.logger.error({ err: e }, 'scheduler tick failed');
        return 0;
      })
      .finally(() => (this.#ticking = undefined));
    return this.#ticking;
  }

  async #tick(): Promise<number> {
    const now = this.deps.clock.now();
    let made = 0;
    for (let i = 0; i < MAX_PER_TICK && !this.#stopped; i++) {
      const claimed = await this.#claimNext(now);
      if (!claimed) break;
      if (claimed.run && (await this.#start(claimed.schedule, claimed.run))) made += 1;
    }
    for (const { schedule, run } of await this.#claimStale()) if (await this.#start(schedule, run)) made += 1;
    return made;
  }

  /** One due schedule: its run recorded (if one is due) and its next time set, in one transaction. */
  async #claimNext(now: Date): Promise<{ schedule: ScheduleRow; run: ScheduleRunRow | undefined } | undefined> {
    return this.db.transaction().execute(async (tx) => {
      const s = await lockDueSchedule(tx, now);
      if (!s) return undefined;
      const latest = latestAtOrBefore(s.cron, s.timezone, now);
      const next = nextTimes(s.cron, s.timezone, now)[0]!;
      let runAt: Date | undefined;
      let catchUp = false;
      if (latest && s.next_run_at && latest.getTime() >= new Date(s.next_run_at).getTime()) {
        const missed = now.getTime() - latest.getTime() > this.deps.options.missedGraceMs;
        if (!missed) runAt = latest;
        else if (s.missed === 'run_once') [runAt, catchUp] = [latest, true];
        else this.deps.logger.info({ scheduleId: s.id, missedUntil: latest.toISOString() }, 'schedule: missed run(s) skipped (missed: skip)');
      }
      const run = runAt ? await insertRun(tx, { schedule_id: s.id, scheduled_for: runAt, session_id: randomUUID(), catch_up: catchUp }) : undefined;
      await updateSchedule(tx, s.id, { next_run_at: next, last_run_at: run ? runAt : undefined });
      return { schedule: s, run };
    });
  }

  async #claimStale(): Promise<{ schedule: ScheduleRow; run: ScheduleRunRow }[]> {
    const stale = await this.db.transaction().execute((tx) => lockStaleClaims(tx, STALE_CLAIM_MS, MAX_PER_TICK));
    const out: { schedule: ScheduleRow; run: ScheduleRunRow }[] = [];
    for (const run of stale) {
      const schedule = await findSchedule(this.db, run.schedule_id);
      if (schedule) out.push({ schedule, run });
    }
    return out;
  }

  /** Makes the run's session as the schedule's owner; a failure is recorded on the run. */
  async #start(s: ScheduleRow, run: ScheduleRunRow): Promise<boolean> {
    const log = this.deps.logger.child({ scheduleId: s.id, runId: Number(run.id), sessionId: run.session_id });
    try {
      if (await findSession(this.db, run.session_id)) {
        await setRunState(this.db, Number(run.id), 'started', null);
        return false;
      }
      const principal = await this.deps.principalFor(s.owner);
      if (!principal) throw new AppError('owner_key_missing', `the schedule's owner ${s.owner} has no usable API key (revoked or expired)`, 409);
      const t = s.template as Record<string, unknown> & { project_type?: ProjectType; metadata?: Record<string, unknown>; budget_usd?: number };
      const scheduledFor = new Date(run.scheduled_for).toISOString();
      const command = {
        ...t,
        id: run.session_id,
        project_type: t.project_type ?? 'local',
        source: 'schedule',
        metadata: { ...t.metadata, schedule: { id: s.id, name: s.name, scheduled_for: scheduledFor, catch_up: run.catch_up } },
        schedule_id: s.id,
        budget_usd: t.budget_usd ?? this.deps.budgets?.scheduleRunUsd,
      } as CreateSessionCommand;
      await this.deps.commands.create(principal, command, { requestId: `schedule:${s.id}:${scheduledFor}` });
      await setRunState(this.db, Number(run.id), 'started', null);
      log.info({ scheduledFor, catchUp: run.catch_up }, 'schedule: run started');
      return true;
    } catch (e: unknown) {
      // Made meanwhile by another scheduler retrying the same claim: the run happened, once.
      if (await findSession(this.db, run.session_id).catch(() => undefined)) {
        await setRunState(this.db, Number(run.id), 'started', null).catch(() => {});
        return false;
      }
      const message = e instanceof AppError ? `${e.code}: ${e.message}` : 'internal error; see the server log';
      log.warn({ err: e }, 'schedule: run could not start');
      await setRunState(this.db, Number(run.id), 'failed', message).catch(() => {});
      return false;
    }
  }
}
