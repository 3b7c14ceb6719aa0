/**
 * A fresh, migrated database per test file: an in-memory PGlite, or a new
 * PostgreSQL database (dropped on close) when TEST_DB=postgres.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { openDatabase, type Database } from '../../src/db/database.ts';
import { migrate } from '../../src/db/migrate.ts';

export const TEST_BACKEND = process.env.TEST_DB === 'postgres' ? 'postgres' : 'pglite';
const ADMIN_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export interface TestDb {
  database: Database;
  /** A connection URL for other processes (postgres only). */
  url: string | undefined;
  close(): Promise<void>;
}

/** Creates an empty PostgreSQL database and returns its URL plus a dropper. */
export async function createPgDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `cco_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: ADMIN_URL });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const a = new pg.Client({ connectionString: ADMIN_URL });
      await a.connect();
      await a.query(`drop database if exists ${name} with (force)`);
      await a.end();
    },
  };
}

export async function createTestDb(opts: { migrate?: boolean } = {}): Promise<TestDb> {
  if (TEST_BACKEND === 'pglite') {
    const database = await openDatabase({ url: undefined, dataDir: 'memory://', poolMax: 1 });
    if (opts.migrate !== false) await migrate(database.db);
    return { database, url: undefined, close: () => database.close() };
  }
  const created = await createPgDatabase();
  const database = await openDatabase({ url: created.url, dataDir: 'unused', poolMax: 10 });
  if (opts.migrate !== false) await migrate(database.db);
  return {
    database,
    url: created.url,
    async close() {
      await database.close();
      await created.drop();
    },
  };
}
