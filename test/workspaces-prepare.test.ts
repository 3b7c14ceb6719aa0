/**
 * Workspaces are made outside the request: POST /api/sessions answers at once
 * with metadata.workspace.state `preparing`, the clone runs in the background
 * (at most MAX_CONCURRENT_GIT_OPS at once), then the session's turns run. A
 * private git server whose ref discovery waits on a gate the test opens keeps
 * clones in flight for as long as a test needs, with no timing involved.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Presence } from '../src/db/presence.ts';
import { EventBus } from '../src/events/bus.ts';
import { createLogger } from '../src/logger.ts';
import { failOrphanedPreparations } from '../src/runner/recovery.ts';
import { SessionService } from '../src/sessions/service.ts';
import { parseGitCredentials } from '../src/workspaces/credentials.ts';
import type { WorkspaceManager } from '../src/workspaces/manager.ts';
import { call, createTestApp, type TestApp } from './helpers/app.ts';
import { createTestDb } from './helpers/db.ts';
import { startGitHttpServer, type GitHttpServer } from './helpers/git-http.ts';
import { makeOrigin, tempRoot, testWorkspacesConfig, type Origin } from './helpers/git-repos.ts';
import { allMessages, createRunnerHarness, waitFor, waitIdle, type RunnerHarness } from './helpers/runner.ts';
import { openSse } from './helpers/sse.ts';

const user = 'x-access-token';
const token = 'test-token-for-the-git-server';
let root: string;
let origin: Origin;
let server: GitHttpServer;
let h: RunnerHarness;
let repoUrl: string;

/** Ref discovery waits while the gate is closed. */
let gate: { promise: Promise<void>; open: () => void } = openGate();
function openGate() {
  let open!: () => void;
  const promise = new Promise<void>((r) => (open = r));
  open();
  return { promise, open };
}
function closeGate() {
  let open!: () => void;
  const promise = new Promise<void>((r) => (open = r));
  gate = { promise, open };
}

function workspaces(over: { maxConcurrentGitOps: number }) {
  const ws = testWorkspacesConfig(root);
  return { ...ws, ...over, git: { ...ws.git, credentials: parseGitCredentials(`${server.url.replace('http://', `http://${user}:${token}@`)}/`) } };
}

/** The answer of `p`, or a failure if it has not come while the gate holds the clone. */
async function answeredWhileHeld<T>(what: string, p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} did not answer while the clone was held`)), 30_000)));
  try {
    return await Promise.race([p, late]);
  } finally {
    clearTimeout(timer);
  }
}

before(async () => {
  root = tempRoot();
  fs.mkdirSync(path.join(root, 'served'));
  origin = makeOrigin(root);
  makeOrigin(path.join(root, 'served'), 'repo');
  server = await startGitHttpServer(path.join(root, 'served'), user, token, { hold: () => gate.promise });
  repoUrl = `${server.url}/repo.git`;
  h = await createRunnerHarness({ workspaces: workspaces({ maxConcurrentGitOps: 2 }) });
});
after(async () => {
  gate.open();
  await h?.close();
  await server?.close();
  fs.rmSync(root, { recursive: true, force: true });
});

describe('a workspace made in the background', () => {
  test('POST answers at once with the workspace preparing; messages queue behind it; then the turns run', { timeout: 180_000 }, async () => {
    closeGate();
    try {
      const created = await answeredWhileHeld('POST /api/sessions', call(h.t.app, 'POST', '/api/sessions', { prompt: 'first', project_type: 'github', repo_url: repoUrl }));
      assert.equal(created.status, 201, JSON.stringify(created.body));
      assert.equal(created.body.metadata.workspace.state, 'preparing');
      assert.equal(created.body.turn_state, 'queued');
      assert.deepEqual(created.body.turn, { id: created.body.turn.id, state: 'queued', queue_position: null });
      await waitFor('the clone in flight', async () => server.held.now === 1);

      const second = await answeredWhileHeld('POST messages', call(h.t.app, 'POST', `/api/sessions/${created.body.id}/messages`, { direction: 'user', content: 'second' }));
      assert.equal(second.status, 201);
      assert.equal(second.body.turn.state, 'queued');
      const meanwhile = await call(h.t.app, 'GET', `/api/sessions/${created.body.id}`);
      assert.equal(meanwhile.body.metadata.workspace.state, 'preparing');
      assert.equal(meanwhile.body.totals.turns, 0, 'nothing ran in a half-made workspace');
      const diff = await call(h.t.app, 'GET', `/api/sessions/${created.body.id}/diff`);
      assert.equal(diff.status, 409);
      assert.equal(diff.body.error.code, 'workspace_preparing');
    } finally {
      gate.open();
    }
    const id = (await call(h.t.app, 'GET', '/api/sessions?limit=1')).body.data[0].id as string;
    const done = await waitIdle(h.t, id, 2, 120_000);
    assert.equal(done.status, 'active');
    assert.equal(done.metadata.workspace.state, 'ready');
    assert.equal(done.project_path, done.metadata.workspace.path);
    assert.ok(fs.existsSync(path.join(done.project_path, 'README.md')), 'cloned');
    const answers = (await allMessages(h.t, id)).filter((m) => m.direction === 'assistant').map((m) => m.content);
    assert.deepEqual(answers, ['Done: first', 'Done: second']);
  });

  test('a clone that fails ends as the session\'s error, with a system message; no turn runs', async () => {
    const created = await call(h.t.app, 'POST', '/api/sessions', { prompt: 'never runs', project_type: 'github', repo_url: origin.url, ref: 'no-such-branch' });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.equal(created.body.metadata.workspace.state, 'preparing');
    const failed = await waitFor('the session in error', async () => {
      const s = await call(h.t.app, 'GET', `/api/sessions/${created.body.id}`);
      return s.body.status === 'error' ? s.body : undefined;
    });
    assert.equal(failed.metadata.workspace.state, 'failed');
    assert.equal(failed.metadata.workspace.error.code, 'clone_failed');
    assert.equal(failed.turn_state, 'idle');
    const notice = (await allMessages(h.t, created.body.id)).find((m) => m.direction === 'system');
    assert.match(notice?.content ?? '', /workspace could not be prepared \(clone_failed\)/);
    const turns = (await call(h.t.app, 'GET', `/api/sessions/${created.body.id}/turns`)).body.data;
    assert.deepEqual(turns.map((t: { status: string }) => t.status), ['cancelled']);
    const again = await call(h.t.app, 'POST', `/api/sessions/${created.body.id}/messages`, { direction: 'user', content: 'retry' });
    assert.equal(again.status, 409);
    assert.equal(again.body.error.code, 'workspace_failed');
    assert.ok(!fs.readdirSync(path.join(root, 'workspaces', 'clones')).some((d) => d.startsWith(created.body.id)), 'the partial clone was removed');
  });

  test('a session completed while its workspace is prepared: the workspace is released by its policy once made', { timeout: 120_000 }, async () => {
    closeGate();
    let id: string;
    try {
      const created = await answeredWhileHeld('POST /api/sessions', call(h.t.app, 'POST', '/api/sessions', { prompt: 'never runs', project_type: 'github', repo_url: repoUrl, cleanup: 'delete' }));
      id = created.body.id;
      await waitFor('the clone in flight', async () => server.held.now === 1);
      const closed = await call(h.t.app, 'PATCH', `/api/sessions/${id}`, { status: 'completed' });
      assert.equal(closed.status, 200);
    } finally {
      gate.open();
    }
    const s = await waitFor('the workspace recorded', async () => {
      const r = await call(h.t.app, 'GET', `/api/sessions/${id}`);
      return r.body.metadata.workspace.state === 'ready' ? r.body : undefined;
    });
    assert.equal(s.status, 'completed');
    await waitFor('the clone removed', async () => !fs.existsSync(s.metadata.workspace.path));
    assert.equal(s.totals.turns, 0);
    assert.deepEqual((await call(h.t.app, 'GET', `/api/sessions/${id}/turns`)).body.data.map((t: { status: string }) => t.status), ['cancelled']);
  });

  test('bad input is still a 400 inside the request, and nothing is stored', async () => {
    const before = (await call(h.t.app, 'GET', '/api/sessions?limit=200')).body.data.length;
    for (const body of [
      { prompt: 'x', project_type: 'github', repo_url: '--upload-pack=touch /tmp/x' },
      { prompt: 'x', project_type: 'github', repo_url: origin.url, ref: '-b' },
      { prompt: 'x', project_type: 'worktree', base_repo: '/etc' },
      { prompt: 'x', project_type: 'github' },
      { prompt: 'x', project_type: 'e2b' },
    ]) {
      const r = await call(h.t.app, 'POST', '/api/sessions', body);
      assert.equal(r.status, 400, JSON.stringify(body));
    }
    assert.equal((await call(h.t.app, 'GET', '/api/sessions?limit=200')).body.data.length, before);
  });

  test('at most MAX_CONCURRENT_GIT_OPS clones are in flight; the others wait, then all finish', { timeout: 120_000 }, async () => {
    const manager = h.t.workspaceManager as WorkspaceManager;
    server.held.most = 0;
    closeGate();
    let ids: string[];
    try {
      const created = await answeredWhileHeld('three POSTs', Promise.all([1, 2, 3].map(() => call(h.t.app, 'POST', '/api/sessions', { project_type: 'github', repo_url: repoUrl }))));
      ids = created.map((c) => c.body.id as string);
      assert.deepEqual(created.map((c) => [c.status, c.body.metadata.workspace.state]), [[201, 'preparing'], [201, 'preparing'], [201, 'preparing']]);
      await waitFor('two clones held, one waiting for a slot', async () => server.held.now === 2 && manager.gitOpsInFlight.waiting === 1);
      assert.equal(server.held.now, 2);
    } finally {
      gate.open();
    }
    for (const id of ids) {
      await waitFor(`session ${id} ready`, async () => (await call(h.t.app, 'GET', `/api/sessions/${id}`)).body.metadata.workspace.state === 'ready');
    }
    assert.equal(server.held.most, 2, 'never more than two at once');
    assert.deepEqual(manager.gitOpsInFlight, { running: 0, waiting: 0 });
  });
});

describe('request timeout', () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp({ requestTimeoutMs: 1000, workspaces: workspaces({ maxConcurrentGitOps: 1 }) });
  });
  after(async () => {
    gate.open();
    await t?.close();
  });

  test('a request waiting too long gets 503 request_timeout; an event stream outlives the timeout', { timeout: 120_000 }, async () => {
    const ready = await call(t.app, 'POST', '/api/sessions', { project_type: 'github', repo_url: repoUrl });
    await waitFor('the first workspace made', async () => typeof (await call(t.app, 'GET', `/api/sessions/${ready.body.id}`)).body.metadata.workspace.path === 'string');
    const url = await t.app.listen({ host: '127.0.0.1', port: 0 });
    const stream = await openSse(`${url}/api/events`);
    try {
      closeGate();
      await answeredWhileHeld('POST /api/sessions', call(t.app, 'POST', '/api/sessions', { project_type: 'github', repo_url: repoUrl }));
      await waitFor('the only git slot taken', async () => server.held.now === 1);
      // The diff waits for a git slot the held clone has; the timeout answers for it.
      const diff = await answeredWhileHeld('GET diff', call(t.app, 'GET', `/api/sessions/${ready.body.id}/diff`));
      assert.equal(diff.status, 503);
      assert.equal(diff.body.error.code, 'request_timeout');
      // The stream was opened before the diff request, so it has lived longer than the timeout.
      const marker = await call(t.app, 'POST', '/api/sessions', { project_path: root });
      await stream.waitFor((e) => e.event === 'session.created' && e.data.includes(marker.body.id), 10_000);
    } finally {
      gate.open();
      stream.close();
    }
  });
});

describe('start-up recovery', () => {
  test('beside other processes, only preparations whose process is gone are failed (presence locks)', async () => {
    const db = await createTestDb();
    const other = new Presence({ connectionString: db.database.connectionString, log: createLogger('silent', { pretty: false }) });
    try {
      await other.start();
      const id = '00000000-0000-4000-9000-000000000017';
      await db.database.db.insertInto('sessions').values({
        id, project_path: '', project_type: 'github', status: 'active', source: 'api', managed: true, turn_state: 'queued',
        metadata: JSON.stringify({ workspace: { kind: 'github', state: 'preparing', preparer: other.key } }) as never,
      }).execute();
      const quiet = { db: db.database.db, sessions: new SessionService(db.database, new EventBus()), logger: createLogger('silent', { pretty: false }) };
      await failOrphanedPreparations(quiet, true);
      const still = await db.database.db.selectFrom('sessions').select('metadata').where('id', '=', id).executeTakeFirstOrThrow();
      assert.equal((still.metadata as { workspace: { state: string } }).workspace.state, 'preparing', 'its process still holds its lock');
      await other.stop();
      await failOrphanedPreparations(quiet, true);
      const failed = await db.database.db.selectFrom('sessions').select(['metadata', 'status']).where('id', '=', id).executeTakeFirstOrThrow();
      assert.equal((failed.metadata as { workspace: { state: string } }).workspace.state, 'failed');
      assert.equal(failed.status, 'error');
    } finally {
      await other.stop();
      await db.close();
    }
  });

  test('a session left preparing by a crash is marked failed, with a system message, its turns cancelled', async () => {
    const db = await createTestDb();
    try {
      const id = '00000000-0000-4000-9000-000000000016';
      await db.database.db.insertInto('sessions').values({
        id, project_path: '', project_type: 'github', status: 'active', source: 'api', managed: true, turn_state: 'queued',
        metadata: JSON.stringify({ workspace: { kind: 'github', state: 'preparing' } }) as never,
      }).execute();
      await db.database.db.insertInto('turns').values({ session_id: id, prompt: 'lost', source: 'api' }).execute();
      const t = await createTestApp({ db, workspaces: workspaces({ maxConcurrentGitOps: 1 }) });
      try {
        const s = await call(t.app, 'GET', `/api/sessions/${id}`);
        assert.equal(s.body.status, 'error');
        assert.equal(s.body.turn_state, 'idle');
        assert.equal(s.body.metadata.workspace.state, 'failed');
        assert.equal(s.body.metadata.workspace.error.code, 'server_restart');
        assert.match((await allMessages(t, id)).at(-1)!.content, /server stopped while it was being made/);
        assert.equal((await call(t.app, 'GET', `/api/sessions/${id}/turns`)).body.data[0].status, 'cancelled');
      } finally {
        await t.close();
      }
    } finally {
      await db.close();
    }
  });
});
