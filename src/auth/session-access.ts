/**
 * Which sessions a principal may see: admins and viewers all, users their own
 * (another owner's session answers 404, so its existence is not revealed).
 * A session's owner never changes after it is created, so owners are cached
 * for good (bounded) and learned from the event bus as sessions appear.
 */
import type { Kysely } from 'kysely';
import type { DB } from '../db/schema.ts';
import type { OrchestratorEvent } from '../events/bus.ts';
import { notFound } from '../lib/errors.ts';
import { seesAll, type Principal } from './principal.ts';

const CACHE_MAX = 100_000;

export class SessionAccess {
  /** session id → owner (null: none recorded; sessions from before owners existed). */
  readonly #owners = new Map<string, string | null>();
  readonly #loading = new Map<string, Promise<void>>();

  constructor(private readonly db: Kysely<DB>) {}

  /** The cached owner: a string or null when known, undefined when it must be loaded first. */
  cachedOwner(sessionId: string): string | null | undefined {
    return this.#owners.get(sessionId);
  }

  /** Loads a session's owner into the cache (a missing session is remembered as having none). */
  load(sessionId: string): Promise<void> {
    const pending = this.#loading.get(sessionId);
    if (pending) return pending;
    const p = this.db
      .selectFrom('sessions')
      .select('owner')
      .where('id', '=', sessionId)
      .executeTakeFirst()
      .then((row) => {
        // A missing session is not cached: it may be created a moment later (by an event in flight).
        if (row) this.#remember(sessionId, row.owner);
      })
      .finally(() => this.#loading.delete(sessionId));
    this.#loading.set(sessionId, p);
    return p;
  }

  /** Session events carry the whole session, owner included. */
  learn(event: OrchestratorEvent): void {
    if (event.type === 'session.created' || event.type === 'session.updated') this.#remember(event.session.id, event.session.owner);
  }

  /** May this principal see the session? (Loads its owner when needed.) */
  async maySee(p: Principal, sessionId: string): Promise<boolean> {
    if (seesAll(p)) return true;
    if (this.#owners.get(sessionId) === undefined) await this.load(sessionId);
    const owner = this.#owners.get(sessionId);
    return owner !== undefined && owner !== null && owner === p.owner;
  }

  /** 404 unless the principal may see the session, with the message a missing session gets. */
  async assertVisible(p: Principal, sessionId: string): Promise<void> {
    if (!(await this.maySee(p, sessionId))) throw notFound('session', sessionId);
  }

  #remember(id: string, owner: string | null): void {
    if (this.#owners.size >= CACHE_MAX && !this.#owners.has(id)) this.#owners.clear();
    this.#owners.set(id, owner);
  }
}
