/** `cco workspaces gc`: removes workspaces of sessions completed before the cut-off, and nothing else. */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import { sql } from 'kysely';
import { openDatabase, type Database } from '../src/db/database.ts';
import { migrate } from '../src/db/migrate.ts';
import { EventBus } from '../src/events/bus.ts';
import { createLogger } from '../src/logger.ts';
import { SessionService } from '../src/sessions/service.ts';
import type { Session } from '../src/sessions/types.ts';
import { collectWorkspaces, parseAge } from '../src/workspaces/gc.ts';
import { WorkspaceManager } from '../src/workspaces/manager.ts';
import type { WorkspaceRecord, WorkspaceRequest } from '../src/workspaces/port.ts';
import { createTestDb, type TestDb } from './helpers/db.ts';
import { git, makeOrigin, tempRoot, testWorkspacesConfig, type Origin } from './helpers/git-repos.ts';

const exec = promisify(execFile);
const DAY = 86_400_000;
let root: string;
let origin: Origin;
let manager: WorkspaceManager;
let n = 0;
const sid = () => `00000000-0000-4000-c000-${String(++n).padStart(12, '0')}`;

before(() => {
  root = tempRoot();
  origin = makeOrigin(root);
  manager = new WorkspaceManager(testWorkspacesConfig(root), createLogger('silent', { pretty: false }));
});
after(() => fs.rmSync(root, { recursive: true, force: true }));

/** A session whose workspace is prepared for real, then given a status and an age. */
async function session(database: Database, sessions: SessionService, req: Omit<WorkspaceRequest, 'sessionId'>, status: 'completed' | 'active', ageDays: number, forge?: Partial<WorkspaceRecord>) {
  const record = { ...(await manager.prepare({ sessionId: sid(), ...req })), ...forge };
  const s = await sessions.create({ project_path: record.path, project_type: req.project_type, metadata: { workspace: record } });
  if (status === 'completed') await sessions.update(s.id, { status });
  await database.db.updateTable('sessions').set({ updated_at: new Date(Date.now() - ageDays * DAY) }).where('id', '=', s.id).execute();
  return { id: s.id, record };
}

describe('workspaces gc', () => {
  let db: TestDb;
  before(async () => {
    db = await createTestDb();
  });
  after(async () => {
    await db.close();
  });

  test('parses ages', () => {
    assert.equal(parseAge('7d'), 7 * DAY);
    assert.equal(parseAge('12h'), 12 * 3_600_000);
    assert.equal(parseAge('2w'), 14 * DAY);
    assert.throws(() => parseAge('7 days'));
    assert.throws(() => parseAge('-1d'));
  });

  test('removes only owned workspaces of sessions completed before the cut-off', async () => {
    const sessions = new SessionService(db.database, new EventBus());
    const d = db.database;
    const oldClone = await session(d, sessions, { project_type: 'github', repo_url: origin.url }, 'completed', 10);
    const oldTree = await session(d, sessions, { project_type: 'worktree', base_repo: origin.work }, 'completed', 9);
    const recent = await session(d, sessions, { project_type: 'github', repo_url: origin.url }, 'completed', 2);
    const active = await session(d, sessions, { project_type: 'github', repo_url: origin.url }, 'active', 30);
    const local = await session(d, sessions, { project_type: 'local', project_path: origin.work }, 'completed', 30);
    const victim = path.join(root, 'victim');
    fs.mkdirSync(victim);
    const forged = await session(d, sessions, { project_type: 'github', repo_url: origin.url }, 'completed', 30, { path: victim });
    const updatedBefore = (await sessions.get(oldClone.id)).updated_at;

    const report = await collectWorkspaces(d.db, manager, parseAge('7d'));
    assert.deepEqual(report.removed.sort(), [oldClone.id, oldTree.id].sort());
    assert.deepEqual(report.skipped, [{ id: forged.id, reason: 'not_owned' }]);
    assert.ok(!fs.existsSync(oldClone.record.path) && !fs.existsSync(oldTree.record.path));
    for (const kept of [recent, active, local]) assert.ok(fs.existsSync(kept.record.path), kept.record.kind);
    assert.ok(fs.existsSync(victim));
    git(origin.work, 'fsck', '--full', '--strict');
    assert.equal(git(origin.work, 'status', '--porcelain'), '');

    const s: Session = await sessions.get(oldClone.id);
    assert.equal(typeof (s.metadata.workspace as Record<string, unknown>).removed_at, 'string');
    assert.equal(s.updated_at, updatedBefore, 'gc does not move the session in the activity order');
    assert.equal((await collectWorkspaces(d.db, manager, parseAge('7d'))).removed.length, 0, 'a second run has nothing to remove');
  });
});

describe('workspaces gc paging', () => {
  test('pages past skipped rows whose timestamps carry microseconds', async () => {
    const db = await createTestDb();
    try {
      const sessions = new SessionService(db.database, new EventBus());
      const ids: string[] = [];
      for (let i = 0; i < 5; i += 1) {
        const rec = await manager.prepare({ sessionId: sid(), project_type: 'github', repo_url: origin.url });
        const forged = i % 2 === 0 ? { ...rec, path: path.join(root, 'not-a-workspace') } : rec;
        const s = await sessions.create({ project_path: rec.path, project_type: 'github', metadata: { workspace: forged } });
        await sessions.update(s.id, { status: 'completed' });
        ids.push(s.id);
      }
      // now() has microseconds, which a JS Date would round away.
      await sql`update sessions set updated_at = now() - interval '30 days'`.execute(db.database.db);
      const report = await collectWorkspaces(db.database.db, manager, parseAge('7d'), { batchSize: 2 });
      assert.equal(report.examined, 5);
      assert.equal(report.removed.length, 2);
      assert.equal(report.skipped.length, 3);
    } finally {
      await db.close();
    }
  });
});

describe('cco workspaces gc (subprocess)', () => {
  test('removes an old completed clone through the command line', async () => {
    const dataDir = path.join(root, 'cli-data');
    const database = await openDatabase({ url: undefined, dataDir, poolMax: 1 });
    let id: string;
    let record: WorkspaceRecord;
    try {
      await migrate(database.db);
      const sessions = new SessionService(database, new EventBus());
      ({ id, record } = await session(database, sessions, { project_type: 'github', repo_url: origin.url }, 'completed', 8));
    } finally {
      await database.close();
    }
    const env = { ...process.env, DATABASE_URL: '', DATA_DIR: dataDir, WORKSPACES_DIR: path.join(root, 'workspaces'), ALLOWED_ROOTS: root, LOG_LEVEL: 'silent' };
    const { stdout } = await exec(process.execPath, ['bin/cco.mjs', 'workspaces', 'gc', '--older-than', '7d'], { env, timeout: 60_000 });
    assert.match(stdout, /removed 1/);
    assert.ok(!fs.existsSync(record.path));
    const again = await openDatabase({ url: undefined, dataDir, poolMax: 1 });
    try {
      const s = await new SessionService(again, new EventBus()).get(id);
      assert.equal(typeof (s.metadata.workspace as Record<string, unknown>).removed_at, 'string');
    } finally {
      await again.close();
    }
  });
});
