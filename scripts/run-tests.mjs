#!/usr/bin/env node
// Runs the whole test suite against one backend: `embedded` (the embedded PostgreSQL the
// server starts by default) or `postgres` (a server at TEST_DATABASE_URL, default the local
// one CI provides); or, with
// `package`, the release test (test/package/: pack, install, run the installed cco).
// Tests that start `cco` run the compiled dist/, so the build is brought up to date first.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { buildServer } from './build.mjs';
import { buildWeb } from './build-web.mjs';

const backend = process.argv[2];
if (backend !== 'embedded' && backend !== 'postgres' && backend !== 'package') {
  console.error('usage: run-tests.mjs embedded|postgres|package [files or folders...]');
  process.exit(2);
}
const env = { ...process.env, TEST_DB: backend === 'package' ? 'embedded' : backend };
if (backend === 'postgres') {
  env.TEST_DATABASE_URL ??= 'postgres://postgres@127.0.0.1:5432/postgres';
  const client = new pg.Client({ connectionString: env.TEST_DATABASE_URL, connectionTimeoutMillis: 5000 });
  try {
    await client.connect();
    await client.end();
  } catch (e) {
    console.error(`PostgreSQL is not reachable at ${env.TEST_DATABASE_URL} (${e.message}).`);
    console.error('Start it (Debian: pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start) or set TEST_DATABASE_URL.');
    process.exit(1);
  }
}

function findTests(dir) {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((d) => {
    const p = path.join(dir, d.name);
    if (d.isDirectory()) return d.name === 'node_modules' || p === path.join('test', 'package') ? [] : findTests(p);
    return d.name.endsWith('.test.ts') ? [p] : [];
  });
}

// Arguments are test files or folders of them (`test/security`: what `npm run test:security` runs).
/** The repository files `file` imports, directly or not (relative imports: `from`, `import(`, side-effect `import`). */
function importClosure(file) {
  const seen = new Set();
  const todo = [path.resolve(file)];
  while (todo.length) {
    const f = todo.pop();
    if (seen.has(f) || !fs.existsSync(f)) continue;
    seen.add(f);
    const text = fs.readFileSync(f, 'utf8');
    for (const m of text.matchAll(/(?:from|import\(|import)\s*['"](\.{1,2}\/[^'"]+)['"]/g)) {
      const p = path.resolve(path.dirname(f), m[1]);
      todo.push(fs.existsSync(p) ? p : p.replace(/\.js$/, '.ts'));
    }
  }
  return seen;
}

/**
 * Whether a test depends on the database backend: it reaches test/helpers/db.ts, the one place
 * that reads TEST_DB. The others (pure units, the model server, git, Slack rendering, the browser's
 * formatting) behave the same on both, so the full PostgreSQL run leaves them to the embedded one.
 */
const DB_HELPER = path.resolve('test', 'helpers', 'db.ts');
const usesDb = new Map();
const usesDatabase = (file) => {
  if (!usesDb.has(file)) usesDb.set(file, importClosure(file).has(DB_HELPER));
  return usesDb.get(file);
};

/**
 * A file whose header says `@backends embedded: <why>` uses the database only as the ground the
 * thing it tests stands on (the dashboard in a browser, a benchmark's harness), and the database
 * paths it drives are tested on both backends by other files: the full PostgreSQL run leaves it to
 * the embedded one. Named on the command line, it still runs on either.
 */
const EMBEDDED_ONLY = /^\s*\*\s*@backends embedded: \S/m;
const embeddedOnly = (file) => EMBEDDED_ONLY.test(fs.readFileSync(file, 'utf8'));

const allFiles = () => [...findTests('src'), ...findTests('test')].sort();
const files =
  process.argv.length > 3
    ? process.argv.slice(3).flatMap((a) => (fs.statSync(a, { throwIfNoEntry: false })?.isDirectory() ? findTests(a).sort() : [a]))
    : backend === 'package'
      ? fs.readdirSync(path.join('test', 'package')).filter((f) => f.endsWith('.test.ts')).map((f) => path.join('test', 'package', f))
      : backend === 'postgres'
        ? allFiles().filter((f) => usesDatabase(f) && !embeddedOnly(f))
        : allFiles();
if (backend !== 'package') {
  buildServer({ ifStale: true, quiet: true });
  await buildWeb({ ifStale: true, quiet: true });
}
/** Runs one statement as the admin user of the server at `url`. */
async function adminQuery(url, statement) {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    await c.query(statement);
  } finally {
    await c.end();
  }
}

/**
 * One migrated database for the run: each test's database is a copy of it (CREATE DATABASE …
 * TEMPLATE, test/helpers/db.ts) instead of running every migration again (a diagnostic beside a
 * suite at load 9.7: 1.5-1.9 s to migrate a new database, 0.4 s to copy a migrated one).
 */
async function migratedTemplate(url) {
  const { openDatabase } = await import('../dist/db/database.js');
  const { migrate } = await import('../dist/db/migrate.js');
  const name = `cco_test_template_${randomBytes(6).toString('hex')}`;
  await adminQuery(url, `create database ${name}`);
  const u = new URL(url);
  u.pathname = `/${name}`;
  const database = await openDatabase({ url: u.toString(), dataDir: 'unused', poolMax: 1 });
  try {
    await migrate(database.db);
  } finally {
    await database.close();
  }
  return name;
}

let template;
let dropTemplateDb;
if (backend === 'embedded') {
  // One initdb for the run; each test process copies it (test/helpers/db.ts) instead of its own 1-7 s initdb.
  const { initCluster, startEmbeddedPostgres } = await import('../dist/db/embedded-postgres.js');
  template = fs.mkdtempSync(path.join(os.tmpdir(), 'cco-pg-template-'));
  const cluster = path.join(template, 'cluster');
  await initCluster(cluster, { sync: false });
  const server = await startEmbeddedPostgres(cluster, { keepsProcessAlive: false });
  try {
    env.TEST_PG_TEMPLATE_DB = await migratedTemplate(server.url);
  } finally {
    await server.stop();
  }
  env.TEST_PG_TEMPLATE = cluster;
} else if (backend === 'postgres') {
  const name = await migratedTemplate(env.TEST_DATABASE_URL);
  env.TEST_PG_TEMPLATE_DB = name;
  dropTemplateDb = () => adminQuery(env.TEST_DATABASE_URL, `drop database if exists ${name} with (force)`);
}
const leftOut = backend === 'postgres' && process.argv.length <= 3 ? allFiles().filter((f) => !files.includes(f)) : [];
const marked = leftOut.filter((f) => usesDatabase(f)).length;
console.log(
  `# backend: ${backend}, ${files.length} test files` +
    (leftOut.length ? ` (left to test:embedded: ${leftOut.length - marked} that do not use the database, ${marked} marked @backends embedded)` : ''),
);
const r = spawnSync(
  process.execPath,
  [
    '--import', 'tsx', '--test', '--test-reporter=spec', '--test-reporter-destination=stdout',
    // TEST_TAP_FILE: a TAP copy of the run, with each file's duration (where the suite's time goes).
    ...(process.env.TEST_TAP_FILE ? ['--test-reporter=tap', `--test-reporter-destination=${process.env.TEST_TAP_FILE}`] : []),
    // The slowest files, after the run (scripts/test-timings-reporter.mjs).
    `--test-reporter=${path.resolve('scripts', 'test-timings-reporter.mjs')}`, '--test-reporter-destination=stdout',
    `--test-concurrency=${process.env.TEST_CONCURRENCY ?? 2}`, ...files,
  ],
  { stdio: 'inherit', env },
);
if (template) fs.rmSync(template, { recursive: true, force: true });
if (dropTemplateDb) await dropTemplateDb().catch((e) => console.error(`could not drop the template database: ${e.message}`));
process.exit(r.status ?? 1);
