#!/usr/bin/env node
// Runs the whole test suite against one backend: `embedded` (the embedded PostgreSQL the
// server starts by default) or `postgres` (a server at TEST_DATABASE_URL, default the local
// one CI provides); or, with
// `package`, the release test (test/package/: pack, install, run the installed cco).
// Tests that start `cco` run the compiled dist/, so the build is brought up to date first.
import { spawnSync } from 'node:child_process';
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
const files =
  process.argv.length > 3
    ? process.argv.slice(3).flatMap((a) => (fs.statSync(a, { throwIfNoEntry: false })?.isDirectory() ? findTests(a).sort() : [a]))
    : backend === 'package'
      ? fs.readdirSync(path.join('test', 'package')).filter((f) => f.endsWith('.test.ts')).map((f) => path.join('test', 'package', f))
      : [...findTests('src'), ...findTests('test')].sort();
if (backend !== 'package') {
  buildServer({ ifStale: true, quiet: true });
  await buildWeb({ ifStale: true, quiet: true });
}
let template;
if (backend === 'embedded') {
  // One initdb for the run; each test process copies it (test/helpers/db.ts) instead of its own 1-7 s initdb.
  const { initCluster } = await import('../dist/db/embedded-postgres.js');
  template = fs.mkdtempSync(path.join(os.tmpdir(), 'cco-pg-template-'));
  await initCluster(path.join(template, 'cluster'), { sync: false });
  env.TEST_PG_TEMPLATE = path.join(template, 'cluster');
}
console.log(`# backend: ${backend}, ${files.length} test files`);
const r = spawnSync(
  process.execPath,
  [
    '--import', 'tsx', '--test', '--test-reporter=spec', '--test-reporter-destination=stdout',
    // TEST_TAP_FILE: a TAP copy of the run, with each file's duration (where the suite's time goes).
    ...(process.env.TEST_TAP_FILE ? ['--test-reporter=tap', `--test-reporter-destination=${process.env.TEST_TAP_FILE}`] : []),
    `--test-concurrency=${process.env.TEST_CONCURRENCY ?? 2}`, ...files,
  ],
  { stdio: 'inherit', env },
);
if (template) fs.rmSync(template, { recursive: true, force: true });
process.exit(r.status ?? 1);
