import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
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
import { startServeProcess } from './helpers/serve.ts';

const silent = createLogger('silent', { pretty: false });

test('migrations started at once apply each migration exactly once', async () => {
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

test('data and keys survive a server restart; only the first start makes a key', async () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cco-data-'));
  const pg = TEST_BACKEND === 'postgres' ? await createPgDatabase() : undefined;
  const config = loadConfig({ PORT: '0', DATA_DIR: dataDir, LOG_LEVEL: 'silent', DATABASE_URL: pg?.url });
  try {
    const first = await startServer(config, silent);
    assert.ok(first.firstKey, 'the first start under AUTH=keys makes an admin key');
    const authorization = `Bearer ${first.firstKey.key}`;
    const created = await fetch(`${first.url}/api/sessions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization },
      body: JSON.stringify({ project_path: '/kept', metadata: { n: 1 } }),
    }).then((r) => r.json() as Promise<{ id: string; owner: string }>);
    assert.equal(created.owner, 'admin');
    await first.stop();

    const second = await startServer(config, silent);
    try {
      assert.equal(second.firstKey, undefined, 'a key exists: no new one');
      assert.equal((await fetch(`${second.url}/api/sessions/${created.id}`)).status, 401);
      const got = await fetch(`${second.url}/api/sessions/${created.id}`, { headers: { authorization } }).then((r) => r.json() as Promise<{ project_path: string; metadata: unknown }>);
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

test("a postmaster.pid left by a crash whose pid now belongs to another live process does not stop the next start", async () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cco-stale-pm-'));
  const bystander = spawn('sleep', ['60'], { stdio: 'ignore' });
  try {
    const first = await openDatabase({ url: undefined, dataDir, poolMax: 1 });
    await first.close();
    // What a kill -9 of the whole container leaves: the file, naming a pid that is now someone else's.
    const file = path.join(dataDir, 'postgres', 'postmaster.pid');
    fs.writeFileSync(file, `${bystander.pid}\n${path.join(dataDir, 'postgres')}\n${Math.floor(Date.now() / 1000) - 3600}\n5432\n${path.join(dataDir, 'run')}\n\n  1234 5\nready   \n`);
    const again = await openDatabase({ url: undefined, dataDir, poolMax: 1 });
    try {
      assert.equal(await again.ping(), true);
    } finally {
      await again.close();
    }
    assert.equal(bystander.exitCode, null, 'the bystander was left alone');
  } finally {
    bystander.kill('SIGKILL');
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
});

test('a data folder from the PGlite days is carried over once, and the old folder is kept aside', async () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cco-import-'));
  try {
    // What an earlier version left: PGlite files in DATA_DIR/pglite, migrated to 0004, with data.
    const { PGlite } = await import('@electric-sql/pglite');
    const old = await PGlite.create(path.join(dataDir, 'pglite'));
    for (const m of listMigrations().filter((x) => x.id <= 4)) {
      await old.exec(m.sql);
    }
    await old.exec(`create table cco_migrations (id integer primary key, name text not null, applied_at timestamptz not null default now());
      insert into cco_migrations (id, name) values (1, 'init'), (2, 'runner'), (3, 'session_events'), (4, 'turn_init');`);
    const sid = randomUUID();
    await old.query(`insert into sessions (id, project_path, project_type, source, metadata) values ($1, '/old/work', 'local', 'api', '{"ticket":"OPS-1","nested":{"a":[1,2]}}')`, [sid]);
    for (let i = 0; i < 1200; i++) await old.query(`insert into session_messages (session_id, direction, content, source) values ($1, 'user', $2, 'api')`, [sid, `message ${i}`]);
    await old.close();

    const db = await openDatabase({ url: undefined, dataDir, poolMax: 2 });
    try {
      assert.equal(db.backend, 'embedded');
      assert.ok(db.imported, 'the import is reported (and logged by the server)');
      assert.equal(db.imported.rows.sessions, 1);
      assert.equal(db.imported.rows.session_messages, 1200);
      const got = await sql<{ project_path: string; metadata: unknown; n: number }>`select project_path, metadata, (select count(*)::int from session_messages m where m.session_id = s.id) as n from sessions s`.execute(db.db);
      assert.deepEqual(got.rows, [{ project_path: '/old/work', metadata: { ticket: 'OPS-1', nested: { a: [1, 2] } }, n: 1200 }]);
      // Ids go on from where the old database stopped.
      const next = await sql<{ id: number }>`insert into session_messages (session_id, direction, content, source) values (${sid}, 'user', 'new', 'api') returning id`.execute(db.db);
      assert.equal(next.rows[0]!.id, 1201);
    } finally {
      await db.close();
    }
    assert.ok(!fs.existsSync(path.join(dataDir, 'pglite')), 'the old folder moved aside');
    assert.equal(fs.readdirSync(dataDir).filter((f) => f.startsWith('pglite.imported-')).length, 1);

    const again = await openDatabase({ url: undefined, dataDir, poolMax: 2 });
    try {
      assert.equal(again.imported, undefined, 'once only');
      const n = await sql<{ n: number }>`select count(*)::int as n from session_messages`.execute(again.db);
      assert.equal(n.rows[0]!.n, 1201);
    } finally {
      await again.close();
    }
  } finally {
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
});

/** Pids of processes whose command line holds `needle`. */
function pidsWithArg(needle: string): number[] {
  return fs
    .readdirSync('/proc')
    .filter((e) => /^\d+$/.test(e))
    .filter((pid) => {
      try {
        const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
        return stat.split(') ')[1]?.[0] !== 'Z' && fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(needle);
      } catch {
        return false;
      }
    })
    .map(Number);
}

test('the embedded PostgreSQL dies with cco serve, even on kill -9, and the next start finds its data', async () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cco-kill-'));
  const cluster = path.join(dataDir, 'postgres');
  try {
    const first = await startServeProcess({ DATA_DIR: dataDir, DATABASE_URL: '' });
    assert.match(first.output(), /database: embedded PostgreSQL in /);
    const created = (await (await fetch(`${first.url}/api/sessions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ project_path: '/kept', metadata: {} }) })).json()) as { id: string };
    assert.ok(pidsWithArg(cluster).length > 0, 'postgres runs on the data folder');
    first.child.kill('SIGKILL');
    const deadline = Date.now() + 20_000;
    while (pidsWithArg(cluster).length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(pidsWithArg(cluster), [], 'no postgres process outlives the server');

    const second = await startServeProcess({ DATA_DIR: dataDir, DATABASE_URL: '' });
    try {
      const got = (await (await fetch(`${second.url}/api/sessions/${created.id}`)).json()) as { project_path: string };
      assert.equal(got.project_path, '/kept');
    } finally {
      second.child.kill('SIGTERM');
      await new Promise((r) => second.child.once('exit', r));
    }
    assert.deepEqual(pidsWithArg(cluster), [], 'a graceful stop stops PostgreSQL too');
  } finally {
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
});
