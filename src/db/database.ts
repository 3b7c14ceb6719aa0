/**
 * Opens the database: PostgreSQL through a pg pool. With DATABASE_URL it is the
 * server given; without, an embedded PostgreSQL this process starts in
 * DATA_DIR/postgres (src/db/embedded-postgres.ts). Both are the same engine and
 * SQL through Kysely, so nothing above this file knows which one it has.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import type { DB } from './schema.ts';
import { acquireDirLock } from './dir-lock.ts';
import { removeStaleServerLock, startEmbeddedPostgres, type EmbeddedPostgres } from './embedded-postgres.ts';
import { importPglite, pgliteFolder, type ImportResult } from './import-pglite.ts';
import { PreparingClient } from './prepared.ts';

export type Backend = 'postgres' | 'embedded';

export interface Database {
  readonly db: Kysely<DB>;
  readonly backend: Backend;
  /** Where the data is, for people (start-up banner); never holds a password. */
  readonly location: string;
  /** For extra connections to the same database (job queue, LISTEN); may hold a password: never log it. */
  readonly connectionString: string;
  /** Set when this start carried an older PGlite data folder over (once). */
  readonly imported?: ImportResult | undefined;
  /** Resolves true when a trivial query answers. */
  ping(): Promise<boolean>;
  close(): Promise<void>;
}

export interface DbOptions {
  url: string | undefined;
  /** Where the embedded PostgreSQL keeps its files (DATA_DIR/postgres). */
  dataDir: string;
  poolMax: number;
  /** Send the marked hot statements as named prepared statements (src/db/prepared.ts); default true. */
  prepared?: boolean | undefined;
}

const INT8_OID = 20;
const NUMERIC_OID = 1700;

export async function openDatabase(opts: DbOptions): Promise<Database> {
  if (opts.url) return openPostgres(opts.url, opts.poolMax, 'postgres', describePostgres(opts.url), async () => {}, undefined, opts.prepared);
  return openEmbedded(opts.dataDir, opts.poolMax, opts.prepared);
}

/**
 * For commands that run beside a server (cco keys): when a cco serve holds the data folder, its
 * embedded PostgreSQL is joined over the socket its postmaster.pid names; otherwise the database is
 * opened as usual (starting the embedded one for the length of the command).
 */
export async function openDatabaseBesideServer(opts: DbOptions): Promise<Database> {
  if (opts.url) return openDatabase(opts);
  const cluster = path.join(path.resolve(opts.dataDir), 'postgres');
  const url = runningServerUrl(cluster);
  if (url) {
    const joined = openPostgres(url, 2, 'embedded', `the running server's embedded PostgreSQL in ${cluster}`, async () => {});
    if (await joined.ping()) return joined;
    await joined.close();
  }
  return openDatabase(opts);
}

/** postmaster.pid: line 1 the pid, line 4 the port, line 5 the socket folder. */
function runningServerUrl(cluster: string): string | undefined {
  let lines: string[];
  try {
    lines = fs.readFileSync(path.join(cluster, 'postmaster.pid'), 'utf8').split('\n');
  } catch {
    return undefined;
  }
  const [pid, , , port, socketDir] = lines;
  try {
    process.kill(Number(pid), 0);
  } catch {
    return undefined;
  }
  if (!port || !socketDir || !fs.existsSync(path.join(socketDir, `.s.PGSQL.${port}`))) return undefined;
  return `postgresql://cco@localhost:${port}/postgres?host=${encodeURIComponent(socketDir)}`;
}

/**
 * Another connection pool to a database a Database already opened (its connectionString and
 * backend): what a worker thread uses (the export, src/export/in-worker.ts). Starts nothing.
 */
export function connectDatabase(url: string, backend: Backend, poolMax: number): Database {
  return openPostgres(url, poolMax, backend, backend === 'postgres' ? describePostgres(url) : 'the embedded PostgreSQL', async () => {});
}

function openPostgres(url: string, poolMax: number, backend: Backend, location: string, afterClose: () => Promise<void>, imported?: ImportResult, prepared = true): Database & { pool: pg.Pool } {
  const pool = new pg.Pool({
    ...(prepared ? { Client: PreparingClient } : {}),
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
  return { ...makeDatabase(db, backend, location, afterClose, imported), connectionString: url, pool };
}

async function openEmbedded(dataDir: string, poolMax: number, prepared?: boolean): Promise<Database> {
  fs.mkdirSync(dataDir, { recursive: true });
  const cluster = path.join(path.resolve(dataDir), 'postgres');
  // One cco per data folder (DATA_DIR/cco.lock, safe against pid reuse). Holding it, any
  // postmaster.pid found is a crashed server's, which PostgreSQL alone could mistake for live.
  const lock = await acquireDirLock(dataDir);
  let server: EmbeddedPostgres | undefined;
  const location = `embedded PostgreSQL in ${cluster}`;
  const stop = async () => {
    await server?.stop();
    lock.release();
  };
  try {
    await removeStaleServerLock(cluster);
    server = await startEmbeddedPostgres(cluster);
    if (!pgliteFolder(dataDir)) return openPostgres(server.url, poolMax, 'embedded', location, stop, undefined, prepared);
    // A data folder from the PGlite days: its rows move over once, before anything else writes.
    const importing = openPostgres(server.url, 2, 'embedded', location, async () => {});
    let imported: ImportResult;
    try {
      imported = await importPglite(dataDir, importing.pool, importing.db);
    } finally {
      await importing.close();
    }
    return openPostgres(server.url, poolMax, 'embedded', location, stop, imported, prepared);
  } catch (e: unknown) {
    await stop();
    throw new Error(`Could not open the embedded database in ${cluster}: ${(e as Error).message}`, { cause: e });
  }
}

/** `PostgreSQL at host:port/db`: the URL without its credentials. */
function describePostgres(url: string): string {
  try {
    const u = new URL(url);
    return `PostgreSQL at ${u.host || 'local socket'}${u.pathname || ''}`;
  } catch {
    return 'PostgreSQL';
  }
}

function makeDatabase(db: Kysely<DB>, backend: Backend, location: string, afterClose: () => Promise<void>, imported?: ImportResult): Omit<Database, 'connectionString'> {
  let closing: Promise<void> | undefined;
  return {
    db,
    backend,
    location,
    imported,
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
