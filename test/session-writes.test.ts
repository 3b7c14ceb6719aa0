/**
 * Writes that fail leave nothing behind, and acknowledged user messages always
 * run. Failures are forced by triggers added to this file's test database (a
 * content the trigger rejects), so the production path is the one tested.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import { after, before, describe, test } from 'node:test';
import { startModelServer, type ModelServer } from '../src/model-server/server.ts';
import { call, createTestApp, type TestApp } from './helpers/app.ts';
import { claudeTestEnv } from './helpers/claude.ts';
import { createTestDb, type TestDb } from './helpers/db.ts';
import { allMessages, waitIdle } from './helpers/runner.ts';

/** Message contents and turn prompts the test database refuses to store. */
const REJECTED_MESSAGE = 'REJECTED-BY-TEST-TRIGGER';
const REJECTED_TURN = 'TURN-REJECTED-BY-TEST-TRIGGER';

let db: TestDb;
let model: ModelServer;
let folder: string;
let h: { t: TestApp };

/** The app and its runner on this file's database; called again to simulate a restart. */
async function startApp(): Promise<TestApp> {
  const configDir = path.join(folder, 'claude-config');
  const passEnv = claudeTestEnv({ baseUrl: model.url, configDir }) as Record<string, string>;
  return createTestApp({ db, runner: { passEnv, workspacesDir: path.join(folder, 'workspaces') } });
}

before(async () => {
  db = await createTestDb();
  await sql.raw(`
    create function cco_test_reject() returns trigger language plpgsql as $$
      begin raise exception 'rejected by the test trigger'; end $$;
    create trigger cco_test_reject_message before insert on session_messages for each row
      when (new.content = '${REJECTED_MESSAGE}') execute function cco_test_reject();
    create trigger cco_test_reject_turn before insert on turns for each row
      when (new.prompt = '${REJECTED_TURN}') execute function cco_test_reject();
  `).execute(db.database.db);
  model = await startModelServer({ port: 0 });
  folder = fs.mkdtempSync(path.join(os.tmpdir(), 'cco-writes-'));
  fs.mkdirSync(path.join(folder, 'record-only'));
  h = { t: await startApp() };
});
after(async () => {
  await h?.t.close();
  await model?.close();
  await db?.close();
  fs.rmSync(folder, { recursive: true, force: true });
});

async function count(table: 'sessions' | 'session_messages' | 'turns', sessionId?: string): Promise<number> {
  let q = db.database.db.selectFrom(table).select((e) => e.fn.countAll<number>().as('n'));
  if (sessionId) q = q.where(table === 'sessions' ? 'id' : 'session_id', '=', sessionId);
  return Number((await q.executeTakeFirstOrThrow()).n);
}

describe('a failed write leaves nothing behind', () => {
  test('POST /api/sessions whose prompt cannot be stored: no session, no message, no turn, no workspace', async () => {
    const before = { sessions: await count('sessions'), turns: await count('turns') };
    const r = await call(h.t.app, 'POST', '/api/sessions', { prompt: REJECTED_MESSAGE, project_type: 'local' });
    assert.ok(r.status >= 500, `answered ${r.status}`);
    assert.equal(r.body.error.code, 'internal_error');
    assert.equal(await count('sessions'), before.sessions, 'no session row');
    assert.equal(await count('turns'), before.turns, 'no turn row');
    const local = path.join(h.t.workspacesDir, 'local');
    assert.deepEqual(fs.existsSync(local) ? fs.readdirSync(local) : [], [], 'no workspace folder');
  });

  test('run:true on a record-only session whose message cannot be stored: the session stays record-only', async () => {
    const s = await call(h.t.app, 'POST', '/api/sessions', { project_path: path.join(folder, 'record-only') });
    assert.equal(s.status, 201);
    const r = await call(h.t.app, 'POST', `/api/sessions/${s.body.id}/messages`, { direction: 'user', content: REJECTED_MESSAGE, run: true });
    assert.ok(r.status >= 500, `answered ${r.status}`);
    const after = await call(h.t.app, 'GET', `/api/sessions/${s.body.id}`);
    assert.equal(after.body.managed, false, 'not turned managed');
    assert.equal(after.body.metadata.workspace, undefined, 'no workspace record');
    assert.deepEqual(after.body.run_options, {});
    assert.equal(await count('session_messages', s.body.id), 0);
    assert.equal(await count('turns', s.body.id), 0);
  });
});

describe('a user message to a managed session and its turn are one write', () => {
  test('when the turn cannot be stored, neither is the message (and an error session stays in error)', async () => {
    const s = await call(h.t.app, 'POST', '/api/sessions', { prompt: 'first' });
    assert.equal(s.status, 201);
    await waitIdle(h.t, s.body.id, 1);
    await call(h.t.app, 'PATCH', `/api/sessions/${s.body.id}`, { status: 'error' });
    const messages = await count('session_messages', s.body.id);
    const r = await call(h.t.app, 'POST', `/api/sessions/${s.body.id}/messages`, { direction: 'user', content: REJECTED_TURN });
    assert.ok(r.status >= 500, `answered ${r.status}`);
    assert.equal(await count('session_messages', s.body.id), messages, 'no message without its turn');
    assert.equal(await count('turns', s.body.id), 1);
    const after = await call(h.t.app, 'GET', `/api/sessions/${s.body.id}`);
    assert.equal(after.body.status, 'error', 'the reopening was rolled back too');
    assert.equal(after.body.turn_state, 'idle');
  });

  test('a user message left without its turn (older version, crash) runs after a restart; run:false and hook messages do not', async () => {
    const s = await call(h.t.app, 'POST', '/api/sessions', { prompt: 'first' });
    await waitIdle(h.t, s.body.id, 1);
    const note = await call(h.t.app, 'POST', `/api/sessions/${s.body.id}/messages`, { direction: 'user', content: 'only a note', run: false });
    assert.equal(note.status, 201);
    assert.equal(note.body.turn, undefined);
    // What an older version (or a crash between two statements) left: a stored user message, no turn.
    const insert = (content: string, metadata: Record<string, unknown>) =>
      db.database.db.insertInto('session_messages').values({ session_id: s.body.id, direction: 'user', content, source: 'api', metadata: JSON.stringify(metadata) as never }).execute();
    await insert('from a hook', { hook_event: 'UserPromptSubmit' });
    await insert('orphan one', {});
    await insert('orphan two', {});

    await h.t.close(); // the database stays: it was passed in
    h = { t: await startApp() };
    const done = await waitIdle(h.t, s.body.id, 3);
    assert.equal(done.totals.turns, 3);
    const turns = (await call(h.t.app, 'GET', `/api/sessions/${s.body.id}/turns`)).body.data as { prompt: string; status: string }[];
    assert.deepEqual(turns.map((t) => [t.prompt, t.status]), [['first', 'completed'], ['orphan one', 'completed'], ['orphan two', 'completed']]);
    const contents = (await allMessages(h.t, s.body.id)).map((m) => m.content);
    assert.ok(contents.includes('Done: orphan one') && contents.includes('Done: orphan two'), JSON.stringify(contents));
    assert.ok(!contents.includes('Done: only a note') && !contents.includes('Done: from a hook'));
  });
});
