/**
 * Turns as jobs: a pg-boss queue in the app's PostgreSQL, its own schema,
 * policy key_strict_fifo keyed by session id. pg-boss gives FIFO per session, at most one active
 * job per session across every process on the database (a unique index, not a lock held in
 * memory), SKIP LOCKED fetches, heartbeats and retries. The runner (src/runner/runner.ts) takes
 * turns through it; src/runner/dispatch.ts queues them.
 *
 * What pg-boss does not do for us (its issue #555): a handler whose lease is gone keeps running
 * while another worker retries the job. Each running job therefore has a lease keeper here that
 * confirms the claim (a fenced touch) a few times per heartbeat and aborts the handler's signal
 * when the claim is gone, or when it could not be confirmed for long enough that the database may
 * already have given it away (a lost connection makes pg-boss's own heartbeat abort nothing).
 */
import { PgBoss, type Job } from 'pg-boss';
import type { Logger } from '../logger.ts';
import { AppError } from '../lib/errors.ts';

export const TURN_QUEUE = 'turns';

export interface TurnQueueOptions {
  /** The app's database (a TCP URL, or the embedded server's Unix-socket URL with ?host=). */
  connectionString: string;
  log: Logger;
  /** pg-boss's tables live here, apart from the app's. */
  schema?: string;
  /** Lease heartbeat; pg-boss refuses less than 10. A dead worker is found after this plus superviseSeconds. */
  heartbeatSeconds?: number;
  /** How often expired leases are looked for (pg-boss's monitor/supervise interval, >= 1; its default 60). */
  superviseSeconds?: number;
  /** Polling backstop; jobs normally wake workers through LISTEN/NOTIFY. pg-boss's minimum is 0.5. */
  pollingSeconds?: number;
  /** Hard bound on one attempt (the runner's own turn timeout should come first). */
  expireSeconds?: number;
  /** Attempts after the first exist only so a later worker can report an abandoned turn. */
  retryLimit?: number;
  /** Connections pg-boss may hold (plus one for LISTEN). */
  poolMax?: number;
}

export interface TurnJob {
  jobId: string;
  sessionId: string;
  turnId: string;
  /**
   * 0 on the first attempt. More means an earlier attempt did not finish (its worker died, lost its
   * lease or threw): the handler must report the turn interrupted, never run it again.
   */
  attempt: number;
}

/** signal fires when the lease is lost or unconfirmed, or when stop() gives up waiting. */
export type TurnHandler = (job: TurnJob, signal: AbortSignal) => Promise<void>;

interface TurnData {
  sessionId: string;
  turnId: string;
}

/** pg-boss's LISTEN channel for a schema (plans.notifyChannelSql in pg-boss 12, not exported). */
const notifyChannelSql = (schema: string) => `('pgboss_' || left(encode(sha224('${schema}'::bytea), 'hex'), 24))`;

const queueError = (code: string, message: string, cause?: unknown) => new AppError(code, message, 503, { cause });

export class TurnQueue {
  private readonly boss: PgBoss;
  private readonly log: Logger;
  private readonly hb: number;
  private readonly opts: Required<Omit<TurnQueueOptions, 'log' | 'connectionString'>>;
  private starting: Promise<void> | undefined;
  private stopping: Promise<void> | undefined;
  private working = false;
  private readonly running = new Set<Promise<void>>();

  constructor(options: TurnQueueOptions) {
    this.opts = {
      schema: options.schema ?? 'cco_queue',
      heartbeatSeconds: options.heartbeatSeconds ?? 10,
      superviseSeconds: options.superviseSeconds ?? 5,
      pollingSeconds: options.pollingSeconds ?? 2,
      expireSeconds: options.expireSeconds ?? 6 * 3600,
      retryLimit: options.retryLimit ?? 5,
      poolMax: options.poolMax ?? 4,
    };
    if (!/^[a-z_][a-z0-9_]{0,62}$/.test(this.opts.schema)) throw new AppError('queue_bad_schema', `Queue schema ${this.opts.schema}: lower-case letters, digits and _ only`, 500);
    this.hb = this.opts.heartbeatSeconds;
    this.log = options.log.child({ part: 'turn-queue' });
    this.boss = new PgBoss({
      connectionString: options.connectionString,
      schema: this.opts.schema,
      max: this.opts.poolMax,
      useListenNotify: true,
      superviseIntervalSeconds: this.opts.superviseSeconds,
      monitorIntervalSeconds: this.opts.superviseSeconds,
      // No cron, no instance registry: nothing here uses them, and each costs statements.
      schedule: false,
      registerInstance: false,
      application_name: 'cco-queue',
    });
    this.boss.on('error', (err: unknown) => this.log.warn({ err }, 'job queue error'));
    this.boss.on('warning', (w: unknown) => this.log.warn({ warning: w }, 'job queue warning'));
  }

  /** Installs or migrates the schema and the queue; safe from several processes at once. */
  start(): Promise<void> {
    this.starting ??= (async () => {
      try {
        await this.boss.start();
        const queue = {
          policy: 'key_strict_fifo',
          heartbeatSeconds: this.hb,
          expireInSeconds: this.opts.expireSeconds,
          retryLimit: this.opts.retryLimit,
          retryDelay: 0,
          notify: true,
        } as const;
        if (await this.boss.getQueue(TURN_QUEUE)) await this.boss.updateQueue(TURN_QUEUE, { expireInSeconds: queue.expireInSeconds, retryLimit: queue.retryLimit, heartbeatSeconds: this.hb, notify: true });
        else await this.boss.createQueue(TURN_QUEUE, queue).catch(async (e: unknown) => {
          // Another process created it between our look and our create.
          if (!(await this.boss.getQueue(TURN_QUEUE))) throw e;
        });
        this.log.info({ schema: this.opts.schema, heartbeatSeconds: this.hb }, 'job queue started');
      } catch (e: unknown) {
        throw queueError('queue_unavailable', `The job queue could not start in schema ${this.opts.schema}: ${(e as Error).message}`, e);
      }
    })();
    return this.starting;
  }

  /** Queues a turn behind the session's earlier ones; returns the job id. */
  async enqueue(sessionId: string, turnId: string): Promise<string> {
    this.assertOpen();
    const data: TurnData = { sessionId, turnId };
    const id = await this.boss.send(TURN_QUEUE, data, { singletonKey: sessionId });
    if (!id) throw queueError('queue_enqueue_failed', `Turn ${turnId} of session ${sessionId} was not queued`);
    return id;
  }

  /**
   * Takes jobs with up to `concurrency` handlers at once in this process (different sessions only:
   * the queue never hands out a session's next turn while one is active anywhere).
   */
  async work(concurrency: number, handler: TurnHandler): Promise<void> {
    this.assertOpen();
    if (this.working) throw new AppError('queue_already_working', 'This TurnQueue already takes jobs', 409);
    this.working = true;
    await this.boss.work<TurnData>(
      TURN_QUEUE,
      // The lease keeper below refreshes the heartbeat; pg-boss's own refresh stays as a slow backstop.
      { localConcurrency: concurrency, batchSize: 1, pollingIntervalSeconds: this.opts.pollingSeconds, notifyPollingIntervalSeconds: this.opts.pollingSeconds, heartbeatRefreshSeconds: this.hb - 1 },
      async ([job]) => {
        if (!job) return;
        const done = this.runOne(job, handler);
        this.running.add(done);
        try {
          await done;
        } finally {
          this.running.delete(done);
        }
        await this.settleAndWake(job);
      },
    );
  }

  /**
   * For a session that closes: cancels its queued turns (created or waiting for a retry) and removes
   * a failed one, which would otherwise hold the session's queue forever (key_strict_fifo keeps
   * failed jobs at the head). A turn that starts between the look and the cancel is cancelled too;
   * its handler's signal fires at its next lease check. Returns the turn ids no worker will run.
   */
  async dropSession(sessionId: string): Promise<string[]> {
    this.assertOpen();
    const jobs = await this.boss.findJobs<TurnData>(TURN_QUEUE, { key: sessionId });
    const queued = jobs.filter((j) => j.state === 'created' || j.state === 'retry');
    const failed = jobs.filter((j) => j.state === 'failed');
    if (queued.length) await this.boss.cancel(TURN_QUEUE, queued.map((j) => j.id));
    if (failed.length) await this.boss.deleteJob(TURN_QUEUE, failed.map((j) => j.id));
    if (queued.length || failed.length) this.log.info({ sessionId, cancelled: queued.length, removed: failed.length }, 'session jobs dropped');
    return [...queued, ...failed].map((j) => j.data.turnId);
  }

  /** Stops fetching new jobs (a runner that drains); handlers that run go on. */
  async stopTaking(): Promise<void> {
    if (this.working) await this.boss.offWork(TURN_QUEUE, { wait: false }).catch((err: unknown) => this.log.warn({ err }, 'could not stop taking jobs'));
  }

  /**
   * Fails every active job now, so its retry reports the turn at once instead of after the lease
   * expires. Only for a process that knows it is alone on the database (the embedded default, held by
   * its data-folder lock): whatever is active there belongs to a process that died.
   */
  async failActive(): Promise<number> {
    this.assertOpen();
    const active = await this.boss.getDb().executeSql(`SELECT id FROM ${this.opts.schema}.job WHERE name = $1 AND state = 'active'`, [TURN_QUEUE]);
    const ids = (active.rows as Array<{ id: string }>).map((r) => r.id);
    if (ids.length) await this.boss.fail(TURN_QUEUE, ids, { reason: 'the process running it stopped' });
    return ids.length;
  }

  /**
   * Removes jobs that failed for good: key_strict_fifo keeps a failed job at the head of its session,
   * which would hold that session's later turns forever. Returns the sessions they held.
   */
  async removeFailed(): Promise<string[]> {
    this.assertOpen();
    const r = await this.boss.getDb().executeSql(`SELECT id, singleton_key FROM ${this.opts.schema}.job WHERE name = $1 AND state = 'failed'`, [TURN_QUEUE]);
    const rows = r.rows as Array<{ id: string; singleton_key: string }>;
    // Through pg-boss, which also clears its own bookkeeping of blocked keys.
    if (rows.length) await this.boss.deleteJob(TURN_QUEUE, rows.map((row) => row.id));
    return [...new Set(rows.map((row) => row.singleton_key))];
  }

  /** The schema pg-boss's tables live in (for the reconciler's joins). */
  get schema(): string {
    return this.opts.schema;
  }

  /** Jobs of one session by state, oldest first (for tests, diagnostics and the dashboard later). */
  async sessionJobs(sessionId: string): Promise<Array<{ turnId: string; state: string; attempt: number }>> {
    const jobs = await this.boss.findJobs<TurnData>(TURN_QUEUE, { key: sessionId });
    return jobs.map((j) => ({ turnId: j.data.turnId, state: j.state, attempt: j.retryCount }));
  }

  /**
   * Stops taking jobs, waits up to timeoutMs for running handlers; then pg-boss fails what still runs
   * (so another runner reports it interrupted) and fires the handlers' signals. Idempotent.
   */
  stop(timeoutMs = 30_000): Promise<void> {
    this.stopping ??= (async () => {
      await this.starting?.catch(() => {});
      const deadline = Date.now() + timeoutMs;
      await this.boss.stop({ graceful: true, timeout: timeoutMs, close: true }).catch((err: unknown) => this.log.warn({ err }, 'job queue stop failed'));
      // pg-boss has aborted what overran; give those handlers a moment to return on their signal.
      await Promise.race([Promise.allSettled([...this.running]), sleep(Math.max(1000, deadline - Date.now()))]);
      this.log.info({ stillRunning: this.running.size }, 'job queue stopped');
    })();
    return this.stopping;
  }

  /**
   * key_strict_fifo makes a session's next turn fetchable only when this one completes, and pg-boss
   * sends no NOTIFY for that (nor for a retry), so runners would wait for their next poll. Completing
   * here (fenced to this attempt; pg-boss's own complete after it is then a no-op) and notifying wakes
   * every runner at once.
   */
  private async settleAndWake(job: Job<TurnData>): Promise<void> {
    try {
      const r = await this.boss.complete(TURN_QUEUE, [{ id: job.id, retryCount: job.retryCount }]);
      if (!(r as { affected?: number }).affected) return;
      await this.boss.getDb().executeSql(`SELECT pg_notify(${notifyChannelSql(this.opts.schema)}, $1)`, [TURN_QUEUE]);
    } catch (err: unknown) {
      // pg-boss completes the job itself after this; only the wake-up is lost (a poll finds the next turn).
      this.log.debug({ err, jobId: job.id }, 'could not wake runners after a turn');
    }
  }

  private assertOpen(): void {
    if (!this.starting || this.stopping) throw queueError('queue_not_running', 'The job queue is not running');
  }

  private async runOne(job: Job<TurnData>, handler: TurnHandler): Promise<void> {
    const turn: TurnJob = { jobId: job.id, sessionId: job.data.sessionId, turnId: job.data.turnId, attempt: job.retryCount };
    const log = this.log.child({ sessionId: turn.sessionId, turnId: turn.turnId, jobId: job.id, attempt: turn.attempt });
    const lease = new AbortController();
    const keeper = this.keepLease(job, lease, log);
    try {
      await handler(turn, AbortSignal.any([job.signal, lease.signal]));
    } catch (err: unknown) {
      // pg-boss fails the attempt; the retry reports the turn interrupted (see TurnJob.attempt).
      log.warn({ err }, 'turn handler failed');
      throw err;
    } finally {
      clearInterval(keeper);
    }
    if (lease.signal.aborted) log.warn('turn handler returned after losing its lease');
  }

  /**
   * #555: confirms the claim every heartbeat/3 with a touch fenced to this attempt. Gone: abort.
   * Unconfirmed for heartbeat-1 s (the database may fail it any moment after heartbeatSeconds): abort,
   * so the handler stops before another worker can take the job.
   */
  private keepLease(job: Job<TurnData>, lease: AbortController, log: Logger): NodeJS.Timeout {
    // The job carries the queue's heartbeat as it was when sent, which is what the monitor enforces.
    const hb = job.heartbeatSeconds ?? this.hb;
    let confirmedAt = Date.now();
    let sentAt = 0;
    let inFlight = false;
    const abort = (reason: string) => {
      if (lease.signal.aborted) return;
      log.warn({ reason }, 'turn lease lost');
      lease.abort(new AppError('queue_lease_lost', `Job ${job.id}: ${reason}`, 409));
    };
    // Ticks often so a hung touch (database unreachable) still aborts on time; touches every heartbeat/3.
    const timer = setInterval(() => {
      if (lease.signal.aborted) return;
      if (Date.now() - confirmedAt >= (hb - 1) * 1000) return abort('lease not confirmed in time');
      if (inFlight || Date.now() - sentAt < (hb * 1000) / 3) return;
      inFlight = true;
      const sent = (sentAt = Date.now());
      this.boss
        .touch(TURN_QUEUE, [{ id: job.id, retryCount: job.retryCount }])
        .then((r) => {
          // pg-boss's typings leave CommandResponse empty; touch() returns the ids it refreshed.
          const settled = (r as { settled?: string[] }).settled;
          if (settled?.includes(job.id)) confirmedAt = sent;
          else if (settled) abort('job is no longer active under this attempt');
        })
        .catch((err: unknown) => log.debug({ err }, 'lease check failed'))
        .finally(() => {
          inFlight = false;
        });
    }, 250);
    return timer;
  }
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms).unref());
