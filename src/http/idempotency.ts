/**
 * Idempotency-Key on POST /api/sessions and POST /api/sessions/:id/messages: a client that repeats a
 * request (a retry after a lost answer, a CI job run twice) with the same key gets the first
 * request's answer and nothing runs twice. Keys are per caller (API key) and live 24 hours.
 *
 * - The first request claims the key (a row in idempotency_keys, unique per caller and key), records
 *   what it made (session, turn) as soon as it exists, and its answer when it is sent.
 * - A repeat with the same request (method, path and body, `wait` aside) gets the recorded answer
 *   (header Idempotent-Replayed: true); while the first is still waiting for its turn, the repeat
 *   waits on that same turn itself. Before the first has made anything: 409
 *   idempotency_key_in_progress (retry shortly).
 * - The same key with another request: 422 idempotency_key_reused.
 * - A first request that fails before it made anything frees the key (retrying with it is safe).
 * - A claim left with nothing made for IN_PROGRESS_STALE_MS (its process died) is taken over. A new
 *   session's id is fixed when the key is claimed, so even then no second session can be made; a
 *   message stored by a process that died before recording it could be stored again (a window of
 *   one statement, after a crash).
 */
import { createHash, randomUUID } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import type { Principal } from '../auth/principal.ts';
import type { Database } from '../db/database.ts';
import { claimKey, findKey, pruneKeys, recordMade, recordResponse, releaseClaim, takeOverClaim, type IdempotencyRow } from '../db/queries/idempotency.ts';
import { firstTurnId } from '../db/queries/turns.ts';
import { AppError, badRequest } from '../lib/errors.ts';
import type { Logger } from '../logger.ts';

export const IDEMPOTENCY_HEADER = 'idempotency-key';
/** A claim with nothing made after this long belongs to a request that died. */
export const IN_PROGRESS_STALE_MS = 60_000;
const PRUNE_EVERY_MS = 60_000;

/** The first request's handle on its claimed key. */
export interface Claim {
  /** For POST /api/sessions: the id the new session must get. */
  sessionId: string | undefined;
  made(m: { sessionId: string; turnId: number | undefined; messageId: number | null }): Promise<void>;
  respond(status: number, body: unknown): Promise<void>;
  release(): Promise<void>;
}

export type Begun =
  | { kind: 'none' }
  | { kind: 'new'; claim: Claim }
  | { kind: 'replay'; status: number; body: unknown }
  /** The first request made these and has not answered (still waiting, or gone): answer from them. */
  | { kind: 'made'; sessionId: string; turnId: number | undefined; messageId: number | null };

export class Idempotency {
  #lastPrune = 0;

  constructor(private readonly deps: { database: Database; logger: Logger }) {}

  private get db() {
    return this.deps.database.db;
  }

  /**
   * Reads the request's Idempotency-Key (none: `none`) and claims or finds it. `createsSession`:
   * the request makes a session, whose id is fixed now.
   */
  async begin(req: FastifyRequest, body: unknown, opts: { createsSession: boolean }): Promise<Begun> {
    const raw = req.headers[IDEMPOTENCY_HEADER];
    if (raw === undefined) return { kind: 'none' };
    const key = Array.isArray(raw) ? raw.join(',') : raw;
    if (!/^[\x21-\x7e]{1,255}$/.test(key)) throw badRequest('invalid_idempotency_key', 'Idempotency-Key: 1 to 255 printable ASCII characters, no spaces');
    this.#prune();
    const scope = scopeOf(req.principal);
    const path = req.url.split('?')[0]!;
    const request_hash = requestHash(req.method, path, body);
    const claim = randomUUID();
    const row = await claimKey(this.db, { scope, key, method: req.method, path, request_hash, claim, session_id: opts.createsSession ? randomUUID() : null });
    if (row) return { kind: 'new', claim: this.#claim(row) };
    const found = await findKey(this.db, scope, key);
    // Pruned between the two statements: a new claim.
    if (!found) return this.begin(req, body, opts);
    if (found.request_hash !== request_hash) {
      throw new AppError('idempotency_key_reused', `Idempotency-Key "${key}" was used with another request (${found.method} ${found.path} with another body) in the last 24 hours; use a new key`, 422);
    }
    if (found.response_status !== null) return { kind: 'replay', status: found.response_status, body: found.response_body };
    if (found.turn_id !== null) return { kind: 'made', sessionId: found.session_id!, turnId: Number(found.turn_id), messageId: found.message_id === null ? null : Number(found.message_id) };
    if (found.session_id !== null && (await this.#sessionExists(found.session_id))) {
      // Made by a request that has not recorded it yet (or died first): the session names it.
      return { kind: 'made', sessionId: found.session_id, turnId: await firstTurnId(this.db, found.session_id), messageId: null };
    }
    if (Date.now() - new Date(found.created_at).getTime() >= IN_PROGRESS_STALE_MS && (await takeOverClaim(this.db, Number(found.id), found.claim, claim))) {
      this.deps.logger.warn({ key: found.id }, 'idempotency: took over a request that made nothing and did not answer');
      return { kind: 'new', claim: this.#claim({ ...found, claim }) };
    }
    throw new AppError('idempotency_key_in_progress', `a request with Idempotency-Key "${key}" is still being processed; retry in a few seconds`, 409);
  }

  #claim(row: IdempotencyRow): Claim {
    const id = Number(row.id);
    const db = this.db;
    return {
      sessionId: row.session_id ?? undefined,
      async made(m) {
        if (m.turnId === undefined) return; // nothing to wait on: the answer is recorded next
        await recordMade(db, id, row.claim, { session_id: m.sessionId, turn_id: m.turnId, message_id: m.messageId });
      },
      respond: (status, body) => recordResponse(db, id, row.claim, status, body),
      release: () => releaseClaim(db, id, row.claim),
    };
  }

  async #sessionExists(id: string): Promise<boolean> {
    return (await this.db.selectFrom('sessions').select('id').where('id', '=', id).executeTakeFirst()) !== undefined;
  }

  /** Keys older than 24 h go, at most once a minute per process, off the request's path. */
  #prune(): void {
    if (Date.now() - this.#lastPrune < PRUNE_EVERY_MS) return;
    this.#lastPrune = Date.now();
    void pruneKeys(this.db).catch((err: unknown) => this.deps.logger.warn({ err }, 'idempotency: pruning old keys failed'));
  }
}

/** Keys are the caller's own: its API key id (AUTH=off: the local admin's name). */
function scopeOf(p: Principal): string {
  return p.keyId ?? `name:${p.name}`;
}

/** The request a key stands for: method, path and body with keys in a fixed order. */
export function requestHash(method: string, path: string, body: unknown): string {
  return createHash('sha256').update(JSON.stringify([method, path, canonical(body)])).digest('hex');
}

function canonical(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(canonical);
  if (v !== null && typeof v === 'object') {
    return Object.fromEntries(Object.keys(v).sort().map((k) => [k, canonical((v as Record<string, unknown>)[k])]));
  }
  return v;
}
