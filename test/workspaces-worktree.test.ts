/** Worktrees: ten at once on one base, each isolated; removal never touches the base or its siblings. */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createLogger } from '../src/logger.ts';
import { WorkspaceManager } from '../src/workspaces/manager.ts';
import { git, listFiles, makeOrigin, tempRoot, testWorkspacesConfig, type Origin } from './helpers/git-repos.ts';

let root: string;
let origin: Origin;
let manager: WorkspaceManager;
let n = 0;
const sid = () => `00000000-0000-4000-9000-${String(++n).padStart(12, '0')}`;

before(() => {
  root = tempRoot();
  origin = makeOrigin(root);
  manager = new WorkspaceManager(testWorkspacesConfig(root), createLogger('silent', { pretty: false }));
});
after(() => fs.rmSync(root, { recursive: true, force: true }));

/** The base repository's working files with their content hashes (its .git is checked by fsck). */
function snapshot(dir: string): string[] {
  return listFiles(dir)
    .filter((f) => !f.startsWith('.git/'))
    .map((f) => `${f} ${createHash('sha256').update(fs.readFileSync(path.join(dir, f))).digest('hex')}`);
}

describe('worktree', () => {
  test('ten sessions at once on one local base repo: ten worktrees, ten branches; cleanup leaves the base intact', async () => {
    const baseBefore = snapshot(origin.work);
    const headBefore = git(origin.work, 'rev-parse', 'HEAD');
    const records = await Promise.all(Array.from({ length: 10 }, () => manager.prepare({ sessionId: sid(), project_type: 'worktree', base_repo: origin.work })));
    assert.equal(new Set(records.map((r) => r.path)).size, 10);
    assert.equal(new Set(records.map((r) => r.branch)).size, 10);
    for (const r of records) {
      assert.equal(r.base_commit, origin.mainCommit);
      assert.equal(git(r.path, 'symbolic-ref', '--short', 'HEAD'), r.branch);
      assert.ok(fs.existsSync(path.join(r.path, 'src', 'app.txt')));
      const c = (await manager.afterTurn(r)) as Record<string, unknown>;
      assert.equal(c.files_changed, 0, 'a fresh worktree has no changes (it does not look like it deleted the repo)');
      assert.equal((await manager.diff(r)).diff, '');
    }
    // Work in each, one commits; then remove half and check the rest are untouched.
    for (const [i, r] of records.entries()) fs.writeFileSync(path.join(r.path, `work-${i}.txt`), `${i}\n`);
    git(records[0]!.path, 'add', '-A');
    git(records[0]!.path, 'commit', '--quiet', '-m', 'session work');
    const committed = git(records[0]!.path, 'rev-parse', 'HEAD');
    await Promise.all(records.slice(0, 5).map((r) => manager.releaseWith(r, 'delete')));
    for (const r of records.slice(0, 5)) assert.ok(!fs.existsSync(r.path));
    for (const [i, r] of records.slice(5).entries()) {
      assert.equal(fs.readFileSync(path.join(r.path, `work-${i + 5}.txt`), 'utf8'), `${i + 5}\n`);
      assert.equal(git(r.path, 'status', '--porcelain'), `?? work-${i + 5}.txt`);
    }
    await Promise.all(records.slice(5).map((r) => manager.releaseWith(r, 'delete')));

    assert.deepEqual(snapshot(origin.work), baseBefore, 'base working files unchanged');
    assert.equal(git(origin.work, 'rev-parse', 'HEAD'), headBefore);
    assert.equal(git(origin.work, 'status', '--porcelain'), '');
    git(origin.work, 'fsck', '--full', '--strict');
    assert.equal(git(origin.work, 'worktree', 'list', '--porcelain').split('\n').filter((l) => l.startsWith('worktree ')).length, 1);
    assert.equal(git(origin.work, 'rev-parse', records[0]!.branch as string), committed, 'the session branch and its commit survive');
  });

  test('ten at once on a URL base: one cached bare clone, ten worktrees', async () => {
    const records = await Promise.all(Array.from({ length: 10 }, (_, i) => manager.prepare({ sessionId: sid(), project_type: 'worktree', base_repo: origin.url, ...(i % 2 ? { ref: 'feature' } : {}) })));
    assert.equal(new Set(records.map((r) => r.base_repo)).size, 1, 'one cache');
    assert.equal(new Set(records.map((r) => r.path)).size, 10);
    assert.equal(new Set(records.map((r) => r.branch)).size, 10);
    for (const [i, r] of records.entries()) {
      assert.equal(r.base_commit, i % 2 ? origin.featureCommit : origin.mainCommit);
      assert.equal(fs.existsSync(path.join(r.path, 'feature.txt')), i % 2 === 1);
    }
    const cache = records[0]!.base_repo as string;
    assert.ok(cache.startsWith(fs.realpathSync(path.join(root, 'workspaces', 'cache'))));
    await Promise.all(records.map((r) => manager.releaseWith(r, 'archive')));
    for (const r of records) assert.ok(!fs.existsSync(r.path));
    assert.ok(fs.existsSync(path.join(cache, 'HEAD')), 'the cache stays');
    git(cache, 'fsck', '--full');
    git(origin.bare, 'fsck', '--full', '--strict');
  });

  test('a tag, a commit id, and an unknown ref', async () => {
    const t = await manager.prepare({ sessionId: sid(), project_type: 'worktree', base_repo: origin.work, ref: 'v1' });
    assert.equal(t.base_commit, origin.firstCommit);
    const c = await manager.prepare({ sessionId: sid(), project_type: 'worktree', base_repo: origin.work, ref: origin.featureCommit });
    assert.equal(c.base_commit, origin.featureCommit);
    await assert.rejects(manager.prepare({ sessionId: sid(), project_type: 'worktree', base_repo: origin.work, ref: 'nope' }), { statusCode: 400, code: 'ref_not_found' });
    const plain = path.join(root, 'not-a-repo');
    fs.mkdirSync(plain, { recursive: true });
    await assert.rejects(manager.prepare({ sessionId: sid(), project_type: 'worktree', base_repo: plain }), { statusCode: 400, code: 'not_a_repository' });
    await manager.releaseWith(t, 'delete');
    await manager.releaseWith(c, 'delete');
  });

  test('a base repository removed meanwhile: the worktree folder is still cleaned up', async () => {
    const scratch = makeOrigin(root, 'scratch');
    const r = await manager.prepare({ sessionId: sid(), project_type: 'worktree', base_repo: scratch.work });
    fs.rmSync(scratch.work, { recursive: true, force: true });
    assert.equal((await manager.releaseWith(r, 'delete')).action, 'deleted');
    assert.ok(!fs.existsSync(r.path));
  });
});
