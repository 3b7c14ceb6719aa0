/**
 * Keys, browser sign-ins and one-time sign-in links. Authentication sits on the
 * path of every request (hooks included), so a verified key is cached for a
 * couple of seconds and last_used_at is written in batches; revoking through
 * this service clears the cache at once, through another process (the CLI)
 * within the cache's lifetime.
 */
import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import {
  consumeLinkToken,
  countAllKeys,
  deleteAuthToken,
  deleteExpiredAuthTokens,
  findKey,
  findKeyByBrowserToken,
  findLiveKeyByHash,
  findLiveKeysByRef,
  insertApiKey,
  insertAuthToken,
  listApiKeys,
  revokeApiKey,
  touchKeysUsed,
  type ApiKeyRow,
} from '../db/queries/api-keys.ts';
import type { DB } from '../db/schema.ts';
import { AppError, badRequest, conflict } from '../lib/errors.ts';
import type { Logger } from '../logger.ts';
import { displayPrefix, generateKey, hashSecret, isWellFormedKey, randomToken } from './keys.ts';
import { ROLES, type Principal, type Role } from './principal.ts';

export interface KeyInfo {
  id: string;
  name: string;
  role: Role;
  owner: string;
  prefix: string;
  created_at: string;
  created_by: string | null;
  expires_at: string | null;
  revoked_at: string | null;
  last_used_at: string | null;
}

export interface NewKeyInput {
  name: string;
  role: Role;
  expiresAt?: Date | undefined;
  /** Hook tokens: whose sessions their events make; default the key's own name. */
  owner?: string | undefined;
  createdBy?: string | undefined;
}

export interface AuthOptions {
  /** How long a verified key or browser token is trusted without asking the database (ms). */
  cacheTtlMs: number;
  /** Browser sign-ins last this long (ms). */
  browserTtlMs: number;
  /** One-time sign-in links last this long (ms). */
  linkTtlMs: number;
  /** last_used_at is written this often (ms). */
  touchEveryMs: number;
}

export const DEFAULT_AUTH_OPTIONS: AuthOptions = { cacheTtlMs: 2000, browserTtlMs: 7 * 86_400_000, linkTtlMs: 24 * 3_600_000, touchEveryMs: 10_000 };

/** Names are shown in lists, audit entries and session owners: short, printable, no spaces. */
const NAME = /^[A-Za-z0-9][A-Za-z0-9._@+-]{0,99}$/;
const CACHE_MAX = 10_000;

export const keyInfo = (r: ApiKeyRow): KeyInfo => ({
  id: r.id,
  name: r.name,
  role: r.role as Role,
  owner: r.owner,
  prefix: r.prefix,
  created_at: r.created_at.toISOString(),
  created_by: r.created_by,
  expires_at: r.expires_at?.toISOString() ?? null,
  revoked_at: r.revoked_at?.toISOString() ?? null,
  last_used_at: r.last_used_at?.toISOString() ?? null,
});

const principalOf = (r: ApiKeyRow): Principal => ({ keyId: r.id, name: r.name, role: r.role as Role, owner: r.owner });

export function checkKeyName(name: string, field = 'name'): string {
  if (!NAME.test(name)) throw badRequest('invalid_key_name', `${field}: 1-100 characters, letters, digits and . _ @ + - (starting with a letter or digit)`);
  return name;
}

export class AuthService {
  readonly #cache = new Map<string, { principal: Principal | undefined; until: number }>();
  readonly #used = new Set<string>();
  #timer: NodeJS.Timeout | undefined;
  readonly #o: AuthOptions;

  constructor(
    private readonly db: Kysely<DB>,
    private readonly logger?: Logger,
    opts: Partial<AuthOptions> = {},
  ) {
    this.#o = { ...DEFAULT_AUTH_OPTIONS, ...opts };
  }

  start(): void {
    if (this.#timer) return;
    this.#timer = setInterval(() => void this.flushUsage(), this.#o.touchEveryMs);
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    await this.flushUsage();
  }

  async flushUsage(): Promise<void> {
    if (this.#used.size === 0) return;
    const ids = [...this.#used];
    this.#used.clear();
    try {
      await touchKeysUsed(this.db, ids);
      await deleteExpiredAuthTokens(this.db);
    } catch (e: unknown) {
      this.logger?.warn({ err: e }, 'could not record key use');
    }
  }

  async createKey(input: NewKeyInput): Promise<{ key: string; info: KeyInfo }> {
    checkKeyName(input.name);
    if (!ROLES.includes(input.role)) throw badRequest('invalid_role', `role: one of ${ROLES.join(', ')}`);
    if (input.owner !== undefined) checkKeyName(input.owner, 'owner');
    if (input.expiresAt && input.expiresAt.getTime() <= Date.now()) throw badRequest('invalid_expiry', 'expires_at: must be in the future');
    const key = generateKey();
    try {
      const row = await insertApiKey(this.db, {
        id: randomUUID(),
        name: input.name,
        role: input.role,
        owner: input.owner ?? input.name,
        prefix: displayPrefix(key),
        key_hash: hashSecret(key),
        created_by: input.createdBy ?? null,
        expires_at: input.expiresAt ?? null,
      });
      return { key, info: keyInfo(row) };
    } catch (e: unknown) {
      if ((e as { code?: string }).code === '23505') throw conflict('key_name_taken', `name: a live key is already called ${input.name}; revoke it first or pick another name`);
      throw e;
    }
  }

  async listKeys(opts: { revoked?: boolean } = {}): Promise<KeyInfo[]> {
    return (await listApiKeys(this.db, opts)).map(keyInfo);
  }

  /** Revokes by id, name or display prefix; several matches is a 409 (say which). */
  async revoke(ref: string): Promise<KeyInfo> {
    const found = await findLiveKeysByRef(this.db, ref);
    if (found.length === 0) throw new AppError('not_found', `no live key is called or starts with ${ref}`, 404);
    if (found.length > 1) throw conflict('ambiguous_key', `${ref} matches ${found.length} keys (${found.map((k) => k.prefix).join(', ')}); give the prefix or id`);
    return this.revokeById(found[0]!.id);
  }

  async revokeById(id: string): Promise<KeyInfo> {
    const row = await revokeApiKey(this.db, id);
    if (!row) {
      const existing = await findKey(this.db, id);
      throw existing ? conflict('key_revoked', `key ${id} is already revoked`) : new AppError('not_found', `key ${id} does not exist`, 404);
    }
    this.#cache.clear();
    return keyInfo(row);
  }

  /**
   * Who a key name stands for, for those who act as a key holder without the key (Slack users
   * mapped to a name): the newest live, unexpired key of that name that may change sessions.
   */
  async principalForName(name: string): Promise<Principal | undefined> {
    const now = Date.now();
    const live = (await findLiveKeysByRef(this.db, name))
      .filter((k) => k.name === name && (k.expires_at === null || k.expires_at.getTime() > now) && (k.role === 'admin' || k.role === 'user'))
      .sort((a, b) => b.created_at.getTime() - a.created_at.getTime());
    return live[0] ? principalOf(live[0]) : undefined;
  }

  async hasAnyKey(): Promise<boolean> {
    return (await countAllKeys(this.db)) > 0;
  }

  /** The principal of a key, or undefined (malformed, unknown, expired, revoked). */
  async authenticate(key: string): Promise<Principal | undefined> {
    if (!isWellFormedKey(key)) return undefined;
    return this.#cached(`k:${hashSecret(key)}`, (hash) => findLiveKeyByHash(this.db, hash));
  }

  /** The principal behind a browser sign-in cookie, or undefined. */
  async authenticateBrowser(token: string): Promise<Principal | undefined> {
    if (token.length < 20 || token.length > 100) return undefined;
    return this.#cached(`b:${hashSecret(token)}`, (hash) => findKeyByBrowserToken(this.db, hash));
  }

  /** Signs a browser in with a key: a cookie token bound to the key (revoking the key ends it). */
  async browserSignIn(key: string): Promise<{ token: string; principal: Principal; maxAgeS: number } | undefined> {
    const principal = await this.authenticate(key);
    if (!principal?.keyId) return undefined;
    // A hook token reads nothing, so a dashboard sign-in with one would be a page of errors.
    if (principal.role === 'hook') throw new AppError('forbidden', 'hook tokens post hook events only; sign in with an admin, user or viewer key', 403);
    return this.#newBrowserToken(principal);
  }

  async signOut(token: string): Promise<void> {
    await deleteAuthToken(this.db, hashSecret(token));
    this.#cache.delete(`b:${hashSecret(token)}`);
  }

  /** A one-time sign-in link's code for a key (printed at first start). */
  async createSignInCode(keyId: string): Promise<string> {
    const code = randomToken();
    await insertAuthToken(this.db, { token_hash: hashSecret(code), kind: 'link', key_id: keyId, expires_at: new Date(Date.now() + this.#o.linkTtlMs) });
    return code;
  }

  /** Uses a sign-in link's code (once) and signs the browser in. */
  async signInWithCode(code: string): Promise<{ token: string; principal: Principal; maxAgeS: number } | undefined> {
    if (code.length < 20 || code.length > 100) return undefined;
    const keyId = await consumeLinkToken(this.db, hashSecret(code));
    if (!keyId) return undefined;
    const row = await findKey(this.db, keyId);
    if (!row || row.revoked_at || (row.expires_at && row.expires_at.getTime() <= Date.now())) return undefined;
    return this.#newBrowserToken(principalOf(row));
  }

  async #newBrowserToken(principal: Principal): Promise<{ token: string; principal: Principal; maxAgeS: number }> {
    const token = randomToken();
    await insertAuthToken(this.db, { token_hash: hashSecret(token), kind: 'browser', key_id: principal.keyId!, expires_at: new Date(Date.now() + this.#o.browserTtlMs) });
    return { token, principal, maxAgeS: Math.floor(this.#o.browserTtlMs / 1000) };
  }

  async #cached(cacheKey: string, load: (hash: string) => Promise<ApiKeyRow | undefined>): Promise<Principal | undefined> {
    const now = Date.now();
    const hit = this.#cache.get(cacheKey);
    let principal: Principal | undefined;
    if (hit && hit.until > now) principal = hit.principal;
    else {
      const row = await load(cacheKey.slice(2));
      principal = row ? principalOf(row) : undefined;
      // Unknown keys are cached too (a client retrying a bad key costs nothing), but the map stays bounded.
      if (this.#cache.size >= CACHE_MAX) this.#cache.clear();
      const until = row?.expires_at ? Math.min(now + this.#o.cacheTtlMs, row.expires_at.getTime()) : now + this.#o.cacheTtlMs;
      this.#cache.set(cacheKey, { principal, until });
    }
    if (principal?.keyId) this.#used.add(principal.keyId);
    return principal;
  }
}
