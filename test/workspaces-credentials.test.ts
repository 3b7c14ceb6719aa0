/**
 * Private repositories: a local `git http-backend` behind Basic auth stands in
 * for a private GitHub repo. The token must reach the server (proved by its
 * Authorization log) and must appear in no stored string: not the record, not
 * the session row in the database, not any file of the clone's .git, not the
 * logs, not error messages, not the serialized config.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import pino from 'pino';
import { loadConfig } from '../src/config.ts';
import { EventBus } from '../src/events/bus.ts';
import { SessionService } from '../src/sessions/service.ts';
import { parseGitCredentials } from '../src/workspaces/credentials.ts';
import { WorkspaceManager } from '../src/workspaces/manager.ts';
import { createTestDb, type TestDb } from './helpers/db.ts';
import { startGitHttpServer, type GitHttpServer } from './helpers/git-http.ts';
import { listFiles, makeOrigin, tempRoot, testWorkspacesConfig } from './helpers/git-repos.ts';

const token = `ghp_${randomBytes(12).toString('hex')}`;
const user = 'x-access-token';
const forms = [token, Buffer.from(`${user}:${token}`).toString('base64')];
let root: string;
let server: GitHttpServer;
let db: TestDb;
const logLines: string[] = [];
const logger = pino({ level: 'trace' }, new Writable({ write(c, _e, cb) { logLines.push(String(c)); cb(); } }));

function assertClean(text: string, where: string) {
  for (const f of forms) assert.ok(!text.includes(f), `the credential leaked into ${where}`);
}

before(async () => {
  root = tempRoot();
  fs.mkdirSync(path.join(root, 'private'));
  makeOrigin(path.join(root, 'private'), 'repo');
  server = await startGitHttpServer(path.join(root, 'private'), user, token);
  db = await createTestDb();
});
after(async () => {
  await server.close();
  await db.close();
  fs.rmSync(root, { recursive: true, force: true });
});

const creds = () => parseGitCredentials(`${server.url.replace('http://', `http://${user}:${token}@`)}/`);

describe('private repositories', () => {
  test('without credentials the clone is refused, and the error says nothing secret', async () => {
    const m = new WorkspaceManager(testWorkspacesConfig(root), logger);
    await assert.rejects(m.prepare({ sessionId: '00000000-0000-4000-a000-000000000001', project_type: 'github', repo_url: `${server.url}/repo.git` }), (e: Error & { code?: string; statusCode?: number }) => {
      assert.equal(e.statusCode, 400);
      assert.equal(e.code, 'clone_failed');
      return true;
    });
    assert.ok(server.auth.every((a) => a === ''), 'no credential was sent');
  });

  test('with GIT_CREDENTIALS: the clone and a worktree cache succeed; the token is stored nowhere', async () => {
    const cfg = testWorkspacesConfig(root, { git: { ...testWorkspacesConfig(root).git, credentials: creds() } });
    const m = new WorkspaceManager(cfg, logger);
    const sessionId = '00000000-0000-4000-a000-000000000002';
    const clone = await m.prepare({ sessionId, project_type: 'github', repo_url: `${server.url}/repo.git`, ref: 'feature' });
    assert.ok(fs.existsSync(path.join(clone.path, 'feature.txt')));
    assert.ok(server.auth.includes(`Basic ${forms[1]}`), 'the credential reached the server');
    const wt = await m.prepare({ sessionId: '00000000-0000-4000-a000-000000000003', project_type: 'worktree', base_repo: `${server.url}/repo.git` });
    assert.ok(fs.existsSync(path.join(wt.path, 'README.md')));
    fs.writeFileSync(path.join(clone.path, 'x.txt'), 'x\n');
    const changes = await m.afterTurn(clone);
    const diff = await m.diff(clone);
    // A failing authenticated clone: its message is clean too.
    const err = await m.prepare({ sessionId: '00000000-0000-4000-a000-000000000004', project_type: 'github', repo_url: `${server.url}/repo.git`, ref: 'no-such-branch' }).catch((e: Error) => e);
    assert.ok(err instanceof Error);
    assertClean(`${err.message} ${JSON.stringify(err)}`, 'an error message');

    const sessions = new SessionService(db.database, new EventBus());
    const s = await sessions.create({ project_path: clone.path, project_type: 'github', metadata: { workspace: { ...clone, changes } } });
    const stored = await db.database.db.selectFrom('sessions').selectAll().where('id', '=', s.id).executeTakeFirstOrThrow();
    assertClean(JSON.stringify(stored), 'the session row');
    assertClean(JSON.stringify([clone, wt, changes, diff]), 'a record, a change summary or a diff');
    for (const dir of [path.join(clone.path, '.git'), wt.base_repo as string, path.join(wt.path)]) {
      for (const f of listFiles(dir)) assertClean(fs.readFileSync(path.join(dir, f)).toString('latin1'), `${dir}/${f}`);
    }
    assert.ok(logLines.length > 0);
    assertClean(logLines.join('\n'), 'the logs');
    await m.releaseWith(clone, 'archive');
    await m.releaseWith(wt, 'delete');
  });

  test('the parsed config serializes without the token', () => {
    const c = loadConfig({ GIT_CREDENTIALS: `https://${user}:${token}@github.com/acme`, DATA_DIR: root });
    assert.equal(c.workspaces.git.credentials.length, 1);
    assertClean(JSON.stringify(c), 'the serialized config');
    assert.match(JSON.stringify(c.workspaces.git.credentials), /credential for https:\/\/github.com\/acme\//);
  });

  test('a credential only goes to the host and path prefix it names', async () => {
    const other = parseGitCredentials(`https://${user}:${token}@example.com/`);
    const cfg = testWorkspacesConfig(root, { git: { ...testWorkspacesConfig(root).git, credentials: other } });
    const before = server.auth.length;
    await assert.rejects(new WorkspaceManager(cfg, logger).prepare({ sessionId: '00000000-0000-4000-a000-000000000005', project_type: 'github', repo_url: `${server.url}/repo.git` }), { code: 'clone_failed' });
    assert.ok(server.auth.slice(before).every((a) => a === ''));
  });
});
