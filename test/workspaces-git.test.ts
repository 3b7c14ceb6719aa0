/** Real git throughout: a bare repository over file:// stands in for GitHub. */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createLogger } from '../src/logger.ts';
import { WorkspaceManager } from '../src/workspaces/manager.ts';
import type { WorkspaceRecord } from '../src/workspaces/port.ts';
import { git, makeOrigin, tempRoot, testWorkspacesConfig, type Origin } from './helpers/git-repos.ts';

let root: string;
let origin: Origin;
let manager: WorkspaceManager;
let n = 0;
const sid = () => `00000000-0000-4000-8000-${String(++n).padStart(12, '0')}`;
const silent = createLogger('silent', { pretty: false });

before(() => {
  root = tempRoot();
  origin = makeOrigin(root);
  manager = new WorkspaceManager(testWorkspacesConfig(root), silent);
});
after(() => fs.rmSync(root, { recursive: true, force: true }));

describe('github: clone into a new unique folder', () => {
  test('default branch, shallow, unique folder under WORKSPACES_DIR/clones', async () => {
    const a = await manager.prepare({ sessionId: sid(), project_type: 'github', repo_url: origin.url });
    const b = await manager.prepare({ sessionId: sid(), project_type: 'github', repo_url: origin.url });
    assert.notEqual(a.path, b.path);
    assert.equal(path.dirname(a.path), fs.realpathSync(path.join(root, 'workspaces', 'clones')));
    assert.equal(a.branch, 'main');
    assert.equal(a.base_commit, origin.mainCommit);
    assert.equal(a.owned, true);
    assert.equal(git(a.path, 'rev-list', '--count', 'HEAD'), '1', 'shallow by default');
    assert.ok(fs.existsSync(path.join(a.path, 'src', 'app.txt')));
  });

  test('with a branch, a tag and a full commit id', async () => {
    const br = await manager.prepare({ sessionId: sid(), project_type: 'github', repo_url: origin.url, ref: 'feature' });
    assert.equal(br.branch, 'feature');
    assert.equal(br.base_commit, origin.featureCommit);
    assert.ok(fs.existsSync(path.join(br.path, 'feature.txt')));
    const tag = await manager.prepare({ sessionId: sid(), project_type: 'github', repo_url: origin.url, ref: 'v1' });
    assert.equal(tag.base_commit, origin.firstCommit);
    assert.ok(!fs.existsSync(path.join(tag.path, 'src')));
    const sha = await manager.prepare({ sessionId: sid(), project_type: 'github', repo_url: origin.url, ref: origin.featureCommit });
    assert.equal(sha.base_commit, origin.featureCommit);
    assert.equal(sha.branch, null, 'a commit id is checked out detached');
  });

  test('full history when GIT_CLONE_DEPTH is 0', async () => {
    const m = new WorkspaceManager(testWorkspacesConfig(root, { git: { ...testWorkspacesConfig(root).git, cloneDepth: 0 } }), silent);
    const r = await m.prepare({ sessionId: sid(), project_type: 'github', repo_url: origin.url });
    assert.equal(git(r.path, 'rev-list', '--count', 'HEAD'), '2');
  });

  test('an unknown ref or repository is a 400 and leaves no folder', async () => {
    const before = fs.readdirSync(path.join(root, 'workspaces', 'clones')).length;
    await assert.rejects(manager.prepare({ sessionId: sid(), project_type: 'github', repo_url: origin.url, ref: 'nope' }), { statusCode: 400, code: 'clone_failed' });
    await assert.rejects(manager.prepare({ sessionId: sid(), project_type: 'github', repo_url: `file://${root}/missing.git` }), { statusCode: 400 });
    assert.equal(fs.readdirSync(path.join(root, 'workspaces', 'clones')).length, before);
  });

  test('size limit: a clone growing past GIT_CLONE_MAX_BYTES is stopped and removed', async () => {
    const big = tempRoot('cco-big-');
    try {
      git(big, 'init', '--quiet', '--initial-branch=main');
      // Incompressible content, so the pack is as large as the data.
      fs.writeFileSync(path.join(big, 'blob.bin'), Buffer.from(Array.from({ length: 3 * 1024 * 1024 }, (_, i) => (i * 2654435761) >>> 24)));
      git(big, 'add', '.');
      git(big, 'commit', '--quiet', '-m', 'big');
      const cfg = testWorkspacesConfig(root, { allowedRoots: [root, path.dirname(big)] });
      const m = new WorkspaceManager({ ...cfg, git: { ...cfg.git, cloneMaxBytes: 1024 * 1024 } }, silent);
      const before = fs.readdirSync(path.join(root, 'workspaces', 'clones')).length;
      await assert.rejects(m.prepare({ sessionId: sid(), project_type: 'github', repo_url: `file://${big}` }), (e: Error & { code?: string }) => {
        assert.match(String(e.code), /^clone_(aborted|too_large)$/);
        assert.match(e.message, /GIT_CLONE_MAX_BYTES/);
        return true;
      });
      assert.equal(fs.readdirSync(path.join(root, 'workspaces', 'clones')).length, before);
    } finally {
      fs.rmSync(big, { recursive: true, force: true });
    }
  });

  test('time limit: a server that never answers ends in clone_timeout', async () => {
    const sockets = new Set<import('node:net').Socket>();
    const server = http.createServer(() => {});
    server.on('connection', (s) => sockets.add(s));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const cfg = testWorkspacesConfig(root);
      const m = new WorkspaceManager({ ...cfg, git: { ...cfg.git, cloneTimeoutMs: 1500 } }, silent);
      const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/slow.git`;
      const t0 = Date.now();
      await assert.rejects(m.prepare({ sessionId: sid(), project_type: 'github', repo_url: url }), { code: 'clone_timeout', statusCode: 400 });
      assert.ok(Date.now() - t0 < 10_000);
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    }
  });
});

describe('local', () => {
  test('an allowed existing folder is used in place and never owned', async () => {
    const r = await manager.prepare({ sessionId: sid(), project_type: 'local', project_path: origin.work });
    assert.equal(r.path, origin.work);
    assert.equal(r.owned, false);
    assert.equal(r.base_commit, origin.mainCommit);
    assert.deepEqual(await manager.releaseWith({ ...r, cleanup: 'delete' }, 'delete'), { action: 'not_owned' });
    assert.ok(fs.existsSync(path.join(origin.work, 'README.md')));
  });

  test('no project_path: a new empty owned folder', async () => {
    const r = await manager.prepare({ sessionId: sid(), project_type: 'local' });
    assert.equal(r.owned, true);
    assert.deepEqual(fs.readdirSync(r.path), ['.git'], 'a fresh repository, so changes can be measured');
    fs.writeFileSync(path.join(r.path, 'hello.txt'), 'hi\n');
    const c = (await manager.afterTurn(r)) as Record<string, unknown>;
    assert.equal(c.git, true);
    assert.equal(c.commit, null);
    assert.equal(c.files_changed, 1);
    assert.match((await manager.diff(r)).diff, /\+hi/);
  });
});

describe('after a turn: changes and diff', () => {
  test('counts committed, modified, new and deleted files against the starting commit', async () => {
    const r = await manager.prepare({ sessionId: sid(), project_type: 'github', repo_url: origin.url });
    fs.appendFileSync(path.join(r.path, 'README.md'), 'added line\n');
    fs.writeFileSync(path.join(r.path, 'new.txt'), 'a\nb\nc\n');
    fs.rmSync(path.join(r.path, 'src', 'app.txt'));
    const c1 = (await manager.afterTurn(r)) as Record<string, unknown>;
    assert.equal(c1.git, true);
    assert.equal(c1.branch, 'main');
    assert.equal(c1.commit, origin.mainCommit);
    assert.equal(c1.files_changed, 3);
    assert.equal(c1.lines_added, 4);
    assert.equal(c1.lines_removed, 3);
    git(r.path, 'add', '-A');
    git(r.path, 'commit', '--quiet', '-m', 'work');
    const c2 = (await manager.afterTurn(r)) as Record<string, unknown>;
    assert.notEqual(c2.commit, origin.mainCommit, 'the new commit is reported');
    assert.equal(c2.files_changed, 3, 'committed work still counts against the base');
    const d = await manager.diff(r);
    assert.match(d.diff, /\+added line/);
    assert.match(d.diff, /new file mode .*\n[\s\S]*\+\+\+ b\/new.txt/);
    assert.match(d.diff, /deleted file mode/);
    assert.equal(d.truncated, false);
    assert.equal(git(r.path, 'status', '--porcelain'), '', 'measuring did not touch the real index');
  });

  test('untracked files count without being staged in the real index', async () => {
    const r = await manager.prepare({ sessionId: sid(), project_type: 'github', repo_url: origin.url });
    fs.writeFileSync(path.join(r.path, 'untracked.txt'), 'x\n');
    const c = (await manager.afterTurn(r)) as Record<string, unknown>;
    assert.equal(c.files_changed, 1);
    assert.equal(git(r.path, 'status', '--porcelain'), '?? untracked.txt');
  });

  test('a removed workspace: afterTurn reports an error code, diff is a 409', async () => {
    const r = await manager.prepare({ sessionId: sid(), project_type: 'github', repo_url: origin.url });
    await manager.releaseWith(r, 'delete');
    assert.equal(((await manager.afterTurn(r)) as Record<string, unknown>).error, 'workspace_gone');
    await assert.rejects(manager.diff(r), { statusCode: 409, code: 'workspace_gone' });
  });
});

describe('cleanup policies', () => {
  test('keep, archive and delete', async () => {
    const kept = await manager.prepare({ sessionId: sid(), project_type: 'github', repo_url: origin.url, cleanup: 'keep' });
    await manager.release(kept);
    assert.ok(fs.existsSync(kept.path));
    const arch = await manager.prepare({ sessionId: sid(), project_type: 'github', repo_url: origin.url, cleanup: 'archive' });
    fs.writeFileSync(path.join(arch.path, 'work.txt'), 'done\n');
    const out = await manager.releaseWith(arch, arch.cleanup);
    assert.equal(out.action, 'archived');
    assert.ok(!fs.existsSync(arch.path));
    const listing = execFileSync('tar', ['-tzf', (out as { archive: string }).archive], { encoding: 'utf8' });
    assert.match(listing, /work\.txt/);
    const del = await manager.prepare({ sessionId: sid(), project_type: 'github', repo_url: origin.url, cleanup: 'delete' });
    await manager.release(del);
    assert.ok(!fs.existsSync(del.path));
    assert.ok(typeof (await manager.diskUsage(kept)) === 'number' && (await manager.diskUsage(kept))! > 0);
    assert.equal(await manager.diskUsage(del), undefined);
  });

  test('a record edited to point elsewhere is never removed', async () => {
    const victim = path.join(root, 'victim');
    fs.mkdirSync(victim);
    fs.writeFileSync(path.join(victim, 'keep.txt'), 'x');
    const cache = path.join(root, 'workspaces', 'clones');
    const forged: WorkspaceRecord[] = [
      { kind: 'github', path: victim, cleanup: 'delete', owned: true },
      { kind: 'github', path: root, cleanup: 'delete', owned: true },
      { kind: 'github', path: path.join(root, 'workspaces'), cleanup: 'delete', owned: true },
      { kind: 'github', path: cache, cleanup: 'delete', owned: true },
      { kind: 'github', path: `${cache}/../../victim`, cleanup: 'delete', owned: true },
      { kind: 'worktree', path: origin.work, cleanup: 'delete', owned: true, base_repo: origin.work },
      { kind: 'local', path: '/', cleanup: 'delete', owned: true },
    ];
    for (const rec of forged) {
      const out = await manager.releaseWith(rec, 'delete');
      assert.equal(out.action, 'not_owned', rec.path);
    }
    assert.ok(fs.existsSync(path.join(victim, 'keep.txt')));
    assert.ok(fs.existsSync(path.join(origin.work, 'README.md')));
    assert.ok(fs.existsSync(cache));
  });

  test('a record edited to point outside the allowed roots cannot be read through diff or changes', async () => {
    const outside = tempRoot('cco-outside-');
    try {
      const secret = makeOrigin(outside, 'secret');
      for (const rec of [
        { kind: 'local', path: secret.work, cleanup: 'keep', owned: false },
        { kind: 'github', path: secret.work, cleanup: 'keep', owned: true },
      ] as WorkspaceRecord[]) {
        await assert.rejects(manager.diff(rec), { statusCode: 409, code: 'workspace_not_allowed' });
        assert.equal(((await manager.afterTurn(rec)) as Record<string, unknown>).error, 'workspace_not_allowed');
        assert.equal(await manager.diskUsage(rec), undefined);
      }
    } finally {
      fs.rmSync(outside, { recursive: true, force: true });
    }
  });
});
