/**
 * Control across processes: pause and close reach the runner process that runs a session's turn,
 * whichever process received them, through PostgreSQL NOTIFY on one channel. A notification can be
 * lost (the listener was reconnecting), so runners also look at the status of the sessions they run
 * every few seconds (Runner's backstop); the notification only makes it immediate.
 */
import { sql, type Kysely } from 'kysely';
import pg from 'pg';
import type { DB } from '../db/schema.ts';
import type { Logger } from '../logger.ts';

export const CONTROL_CHANNEL = 'cco_control';

export type ControlAction = 'pause' | 'close';
export interface ControlMessage {
  action: ControlAction;
  sessionId: string;
}

/** Sends control messages (every role) and, once listen() is called, receives them (runners). */
export class ControlChannel {
  #client: pg.Client | undefined;
  #handler: ((m: ControlMessage) => void) | undefined;
  #stopped = false;
  #connecting: Promise<void> | undefined;
  #retry: NodeJS.Timeout | undefined;

  constructor(
    private readonly deps: { db: Kysely<DB>; connectionString: string; log: Logger },
  ) {}

  async send(m: ControlMessage): Promise<void> {
    await sql`select pg_notify(${CONTROL_CHANNEL}, ${JSON.stringify(m)})`.execute(this.deps.db);
  }

  /** Starts receiving; resolves once the first LISTEN is in place. */
  listen(handler: (m: ControlMessage) => void): Promise<void> {
    this.#handler = handler;
    this.#connecting ??= this.#connect();
    return this.#connecting;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#retry);
    const c = this.#client;
    this.#client = undefined;
    await c?.end().catch(() => {});
  }

  async #connect(): Promise<void> {
    if (this.#stopped) return;
    const client = new pg.Client({ connectionString: this.deps.connectionString, application_name: 'cco-control' });
    const lost = (err?: unknown) => {
      if (this.#client !== client) return;
      this.#client = undefined;
      client.end().catch(() => {});
      if (this.#stopped) return;
      this.deps.log.warn({ err }, 'control channel lost; reconnecting');
      this.#retry = setTimeout(() => void this.#connect().catch(() => {}), 1000);
      this.#retry.unref();
    };
    client.on('error', lost);
    client.on('end', () => lost());
    client.on('notification', (n) => {
      if (n.channel !== CONTROL_CHANNEL || !n.payload) return;
      let m: ControlMessage;
      try {
        m = JSON.parse(n.payload) as ControlMessage;
      } catch {
        return;
      }
      if ((m.action === 'pause' || m.action === 'close') && typeof m.sessionId === 'string') this.#handler?.(m);
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${CONTROL_CHANNEL}`);
      this.#client = client;
    } catch (err: unknown) {
      client.end().catch(() => {});
      if (this.#stopped) return;
      this.deps.log.warn({ err }, 'control channel could not connect; retrying');
      this.#retry = setTimeout(() => void this.#connect().catch(() => {}), 1000);
      this.#retry.unref();
    }
  }
}
