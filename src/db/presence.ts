/**
 * Whether another process is still alive, asked of PostgreSQL: each process that prepares
 * workspaces holds an advisory lock keyed by a random number for as long as it runs, on a connection
 * of its own. The lock goes when the process (or its machine) does, because its connection does, so
 * a workspace stored as `preparing` by a process whose lock is gone will never be finished and can be
 * marked failed at once, by any process, without guessing from its age.
 */
import { randomInt } from 'node:crypto';
import pg from 'pg';
import type { Logger } from '../logger.ts';

/** The advisory lock class of presence locks (the two-int form: class, key). */
export const PRESENCE_LOCK_CLASS = 73_201;

export class Presence {
  /** This process's key, stored with what it leaves unfinished (metadata.workspace.preparer). */
  readonly key = randomInt(1, 2 ** 31 - 1);
  #client: pg.Client | undefined;
  #starting: Promise<void> | undefined;

  constructor(private readonly deps: { connectionString: string; log: Logger }) {}

  /** Takes the lock; idempotent. */
  start(): Promise<void> {
    this.#starting ??= (async () => {
      const client = new pg.Client({ connectionString: this.deps.connectionString, application_name: 'cco-presence' });
      client.on('error', (err) => this.deps.log.warn({ err }, 'presence connection lost; this process now looks gone to others'));
      await client.connect();
      await client.query('select pg_advisory_lock($1, $2)', [PRESENCE_LOCK_CLASS, this.key]);
      this.#client = client;
    })();
    return this.#starting;
  }

  async stop(): Promise<void> {
    await this.#starting?.catch(() => {});
    const c = this.#client;
    this.#client = undefined;
    await c?.end().catch(() => {});
  }
}

/** SQL: true while the process with presence key `keyExpr` (an int expression) is alive. */
export const PRESENCE_ALIVE_SQL = (keyExpr: string) =>
  `exists (select 1 from pg_locks l where l.locktype = 'advisory' and l.classid = ${PRESENCE_LOCK_CLASS} and l.objsubid = 2 and l.granted
    and l.database = (select oid from pg_database where datname = current_database()) and l.objid = (${keyExpr})::bigint::oid)`;
