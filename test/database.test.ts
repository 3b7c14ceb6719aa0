import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { sql } from 'kysely';
import { loadConfig } from '../src/config.ts';
import { openDatabase } from '../src/db/database.ts';
import { acquireDirLock } from '../src/db/dir-lock.ts';
import { listMigrations, migrate } from '../src/db/migrate.ts';
import { createLogger } from '../src/logger.ts';
import { startServer } from '../src/main.ts';
import { createPgDatabase, createTestDb, TEST_BACKEND } from './helpers/db.ts';

const silent = createLogger('silent', { pretty: false });

test('migrations started at once apply each migration exactly once', async () => {
  if (TEST_BACKEND === 'postgres') {
    const created = await createPgDatabase();
    // Separate pools stand for separate processes starting together.
    const dbs = await Promise.all([1, 2, 3].map(() => openDatabase({ url: created.url, dataDir: 'unused', poolMax: 2 })));
    try {
      const results = await Promise.all(dbs.map((d) => migrate(d.db)));
      const all = results.flat();
      assert.equal(all.length, listMigrations().length, `applied once in total: ${JSON.stringify(results)}`);
      const rows = await sql<{ n: number }>`select count(*)::int as n from cco_migrations`.execute(dbs[0]!.db);
      assert.equal(rows.rows[0]!.n, listMigrations().length);
    } finally {
      await Promise.all(dbs.map((d) => d.close()));
      await created.drop();
    }
  } else {
    const t = await createTestDb({ migrate: false });
    try {
      const results = await Promise.all([migrate(t.database.db), migrate(t.database.db)]);
      assert.equal(results.flat().length, listMigrations().length);
      assert.deepEqual(await migrate(t.database.db), []);
    } finally {
      await t.close();
    }
  }
});

test('a failing migration leaves nothing half-applied', async () => {
  const t = await createTestDb({ migrate: false });
  try {
    const broken = [...listMigrations(), { id: 9999, name: 'broken', sql: 'create table half_done (id int); select * from no_such_table;' }];
    await assert.rejects(migrate(t.database.db, broken), /Migration 9999_broken failed/);
    const tables = await sql<{ n: number }>`select count(*)::int as n from information_schema.tables where table_name in ('sessions', 'half_done')`.execute(t.database.db);
    assert.equal(tables.rows[0]!.n, 0, 'the whole batch rolled back');
    assert.equal((await migrate(t.database.db)).length, listMigrations().length);
  } finally {
    await t.close();
  }
});

test('data survives a server restart', async () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cco-data-'));
  const pg = TEST_BACKEND === 'postgres' ? await createPgDatabase() : undefined;
  const config = loadConfig({ PORT: '0', DATA_DIR: dataDir, LOG_LEVEL: 'silent', DATABASE_URL: pg?.url });
  try {
    const first = await startServer(config, silent);
    const created = await fetch(`${first.url}/api/sessions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ project_path: '/kept', metadata: { n: 1 } }),
    }).then((r) => r.json() as Promise<{ id: string }>);
    await first.stop();

    const second = await startServer(config, silent);
    try {
      const got = await fetch(`${second.url}/api/sessions/${created.id}`).then((r) => r.json() as Promise<{ project_path: string; metadata: unknown }>);
      assert.equal(got.project_path, '/kept');
      assert.deepEqual(got.metadata, { n: 1 });
    } finally {
      await second.stop();
    }
  } finally {
    await pg?.drop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
});

test('the embedded database refuses a second process with a clear message', async () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cco-lock-'));
  const first = await openDatabase({ url: undefined, dataDir, poolMax: 1 });
  try {
    await assert.rejects(openDatabase({ url: undefined, dataDir, poolMax: 1 }), /in use by process \d+/);
  } finally {
    await first.close();
  }
  const again = await openDatabase({ url: undefined, dataDir, poolMax: 1 });
  await again.close();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

/** Opens and closes the embedded database in `dataDir`, whose lock file was written beforehand. */
async function opensWithLock(lock: string, mtime?: Date): Promise<void> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cco-stale-lock-'));
  try {
    fs.writeFileSync(path.join(dataDir, 'cco.lock'), lock);
    if (mtime) fs.utimesSync(path.join(dataDir, 'cco.lock'), mtime, mtime);
    const db = await openDatabase({ url: undefined, dataDir, poolMax: 1 });
    await db.close();
  } finally {
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

const procStartTicks = (pid: number) => fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ').at(-1)!.split(' ')[19]!;
const bootId = () => fs.readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
const pidNs = () => fs.readlinkSync('/proc/self/ns/pid');

test('a lock file left with our own pid by an earlier life of the process (pid 1 in a container) is stale', async () => {
  // The pid-only format older versions wrote, and the current one with another start time.
  await opensWithLock(String(process.pid));
  await opensWithLock(JSON.stringify({ pid: process.pid, boot_id: bootId(), pid_ns: pidNs(), start: '1' }));
});

test('a lock file of a dead process, of another boot, or of a reused pid is stale', async () => {
  await opensWithLock(JSON.stringify({ pid: process.ppid, boot_id: 'another-boot', pid_ns: pidNs(), start: procStartTicks(process.ppid) }));
  // The rest at the lock itself (opening PGlite takes seconds on a loaded machine).
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cco-stale-lock-'));
  const file = path.join(dataDir, 'cco.lock');
  const takes = async (content: string, mtime?: Date) => {
    fs.writeFileSync(file, content);
    if (mtime) fs.utimesSync(file, mtime, mtime);
    const lock = await acquireDirLock(dataDir);
    assert.equal(JSON.parse(fs.readFileSync(file, 'utf8')).pid, process.pid, content);
    lock.release();
  };
  try {
    const dead = spawnSync(process.execPath, ['-e', '0']).pid!; // exited and reaped
    await takes(String(dead));
    const live = process.ppid; // alive, but not the lock's owner
    await takes(JSON.stringify({ pid: live, boot_id: bootId(), pid_ns: pidNs(), start: String(Number(procStartTicks(live)) + 1) }));
    // Owner in another pid namespace (a restarted container): stale once it stops refreshing the file.
    await takes(JSON.stringify({ pid: 1, boot_id: bootId(), pid_ns: 'pid:[1]', start: '5' }), new Date(Date.now() - 3_600_000));
    await takes('not a lock file');
  } finally {
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
});

test('a lock file of a live process is respected', async () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cco-live-lock-'));
  try {
    const live = process.ppid;
    fs.writeFileSync(path.join(dataDir, 'cco.lock'), JSON.stringify({ pid: live, boot_id: bootId(), pid_ns: pidNs(), start: procStartTicks(live) }));
    await assert.rejects(openDatabase({ url: undefined, dataDir, poolMax: 1 }), new RegExp(`in use by process ${live}`));
    // An owner in another pid namespace cannot be looked up: it is alive while it refreshes the file.
    const file = path.join(dataDir, 'cco.lock');
    fs.writeFileSync(file, JSON.stringify({ pid: 1, boot_id: bootId(), pid_ns: 'pid:[1]', start: '5' }));
    const beat = setInterval(() => fs.utimesSync(file, new Date(), new Date()), 50);
    try {
      await assert.rejects(acquireDirLock(dataDir, { staleMs: 600 }), /in use by process 1/);
    } finally {
      clearInterval(beat);
    }
    // Once it stops, the lock is taken after the window.
    const lock = await acquireDirLock(dataDir, { staleMs: 600 });
    assert.equal(JSON.parse(fs.readFileSync(file, 'utf8')).pid, process.pid);
    lock.release();
  } finally {
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
});
