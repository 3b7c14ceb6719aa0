/**
 * A fresh, migrated database per createTestDb call: a new database (dropped on close) in
 * the PostgreSQL server at TEST_DATABASE_URL when TEST_DB=postgres, or else in an embedded
 * PostgreSQL that this test process starts through the production code
 * (startEmbeddedPostgres), from the template cluster the test runner made once.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { openDatabase, type Database } from '../../src/db/database.ts';
import { initCluster, startEmbeddedPostgres, type EmbeddedPostgres } from '../../src/db/embedded-postgres.ts';
import { migrate } from '../../src/db/migrate.ts';

export const TEST_BACKEND: 'postgres' | 'embedded' = process.env.TEST_DB === 'postgres' ? 'postgres' : 'embedded';

let embedded: Promise<{ server: EmbeddedPostgres; dir: string }> | undefined;

/** The embedded PostgreSQL of this test process, started on first use and stopped at exit. */
function embeddedServer(): Promise<{ server: EmbeddedPostgres; dir: string }> {
  embedded ??= (async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cco-test-pg-'));
    const cluster = path.join(dir, 'postgres');
    const template = process.env.TEST_PG_TEMPLATE;
    // cp -a keeps the modes PostgreSQL insists on (0700 data folder).
    if (template && fs.existsSync(template)) execFileSync('cp', ['-a', template, cluster]);
    else await initCluster(cluster, { sync: false });
    const server = await startEmbeddedPostgres(cluster, { keepsProcessAlive: false });
    process.once('exit', () => {
      try {
        process.kill(server.pid, 'SIGKILL');
      } catch {
        // already gone
      }
      fs.rmSync(dir, { recursive: true, force: true });
    });
    return { server, dir };
  })();
  return embedded;
}

const ADMIN_URL_SERVER = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

async function adminUrl(): Promise<string> {
  return TEST_BACKEND === 'postgres' ? ADMIN_URL_SERVER : (await embeddedServer()).server.url;
}

export interface TestDb {
  database: Database;
  /** A connection URL for other processes (postgres only). */
  url: string | undefined;
  close(): Promise<void>;
}

/**
 * A database with every migration applied, made once per test run by scripts/run-tests.mjs (in the
 * template cluster each embedded test process copies, or on the server): copying it is much
 * cheaper than migrating each test's database again. Unset (a test file run without the runner):
 * each database is migrated.
 */
const MIGRATED_TEMPLATE = process.env.TEST_PG_TEMPLATE_DB;

/** Creates an empty PostgreSQL database (or a copy of `template`) and returns its URL plus a dropper. */
export async function createPgDatabase(opts: { template?: string | undefined } = {}): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `cco_test_${randomBytes(6).toString('hex')}`;
  if (opts.template !== undefined && !/^[a-z0-9_]+$/.test(opts.template)) throw new Error(`not a database name: ${opts.template}`);
  const ADMIN_URL = await adminUrl();
  const admin = new pg.Client({ connectionString: ADMIN_URL });
  await admin.connect();
  await admin.query(`create database ${name}${opts.template ? ` template ${opts.template}` : ''}`);
  await admin.end();
  return {
    url: withDatabase(ADMIN_URL, name),
    async drop() {
      const a = new pg.Client({ connectionString: ADMIN_URL });
      await a.connect();
      await a.query(`drop database if exists ${name} with (force)`);
      await a.end();
    },
  };
}

/** The same URL with another database name (works for TCP and Unix-socket URLs). */
function withDatabase(url: string, name: string): string {
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
}

export async function createTestDb(opts: { migrate?: boolean } = {}): Promise<TestDb> {
  const migrated = opts.migrate !== false;
  const created = await createPgDatabase({ template: migrated ? MIGRATED_TEMPLATE : undefined });
  const database = await openDatabase({ url: created.url, dataDir: 'unused', poolMax: 10 });
  // On a copy of the migrated template this applies nothing (or only what the template lacks).
  if (migrated) await migrate(database.db);
  return {
    database,
    url: created.url,
    async close() {
      await database.close();
      await created.drop();
    },
  };
}
