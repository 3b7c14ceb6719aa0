/**
 * Opens the database: PostgreSQL through a pg pool when a URL is given, embedded
 * PGlite in a data folder otherwise. Both speak the same SQL through Kysely, so
 * nothing above this file knows which one it has.
 */
import fs from 'node:fs';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import type { DB } from './schema.ts';
import { PGliteDialect } from './pglite-dialect.ts';
import { acquireDirLock, type DirLock } from './dir-lock.ts';

export type Backend = 'postgres' | 'pglite';

export interface Database {
  readonly db: Kysely<DB>;
  readonly backend: Backend;
  /** Resolves true when a trivial query answers. */
  ping(): Promise<boolean>;
  close(): Promise<void>;
}

export interface DbOptions {
  url: string | undefined;
  /** Where PGlite keeps its files; `memory://` keeps nothing (tests). */
  dataDir: string;
  poolMax: number;
}

const INT8_OID = 20;
const NUMERIC_OID = 1700;

export async function openDatabase(opts: DbOptions): Promise<Database> {
  return opts.url ? openPostgres(opts.url, opts.poolMax) : openPglite(opts.dataDir);
}

function openPostgres(url: string, poolMax: number): Database {
  const pool = new pg.Pool({
    connectionString: url,
    max: poolMax,
    // ids are bigserial and costs numeric; both fit a JS number for any realistic table.
    types: {
      getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
        oid === INT8_OID || oid === NUMERIC_OID ? (v: string) => Number(v) : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
    },
  });
  // An idle client that loses its server must not crash the process.
  pool.on('error', () => {});
  const db = new Kysely<DB>({ dialect: new PostgresDialect({ pool }) });
  return makeDatabase(db, 'postgres', async () => {});
}

async function openPglite(dataDir: string): Promise<Database> {
  let lock: DirLock | undefined;
  let target: string | undefined;
  if (dataDir !== 'memory://') {
    fs.mkdirSync(dataDir, { recursive: true });
    lock = await acquireDirLock(dataDir);
    target = path.join(dataDir, 'pglite');
  }
  const parsers = { [INT8_OID]: (v: string) => Number(v), [NUMERIC_OID]: (v: string) => Number(v) };
  try {
    const pglite = await PGlite.create(target, { parsers });
    const db = new Kysely<DB>({ dialect: new PGliteDialect(pglite) });
    return makeDatabase(db, 'pglite', async () => {
      // Kysely only destroys a driver it has initialised; a database closed before its
      // first query would otherwise keep PGlite (and the process) alive.
      if (!pglite.closed) await pglite.close();
      lock?.release();
    });
  } catch (e: unknown) {
    lock?.release();
    throw new Error(`Could not open the embedded database in ${dataDir}: ${(e as Error).message}`, { cause: e });
  }
}

function makeDatabase(db: Kysely<DB>, backend: Backend, afterClose: () => Promise<void>): Database {
  let closing: Promise<void> | undefined;
  return {
    db,
    backend,
    async ping() {
      try {
        await sql`select 1`.execute(db);
        return true;
      } catch {
        return false;
      }
    },
    close() {
      closing ??= db.destroy().then(afterClose);
      return closing;
    },
  };
}
