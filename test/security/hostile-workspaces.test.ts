/**
 * Issue 11, security suite: the hostile path, URL and ref corpus of the workspaces issue,
 * sent through POST /api/sessions under AUTH=keys as users and as an admin. Never a 5xx,
 * never a workspace outside the allowed roots, no injected command run. Being admin widens
 * nothing here: a user gets the admin's refusal, or the 403 of the own-roots check
 * (ALLOWED_ROOTS=.../{owner}) that comes before it. Two users: alice, whose own root is
 * elsewhere, and one whose own root is the corpus's allowed folder, so her requests go on to
 * the workspace manager's checks.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { call, createTestApp, roleKeys, type TestApp } from '../helpers/app.ts';
import { listFiles } from '../helpers/git-repos.ts';
import { hostilePlaces, hostileWorkspaceCorpus, type HostileRequest } from '../helpers/hostile-corpus.ts';

let t: TestApp;
let keys: Awaited<ReturnType<typeof roleKeys>>;
let places: ReturnType<typeof hostilePlaces>;
/** A user key whose owner is `allowed`: its own root, <root>/{owner}, is the corpus's allowed folder. */
let insider: string;

before(async () => {
  places = hostilePlaces();
  const ownerRoots = [path.join(places.root, '{owner}')];
  t = await createTestApp({ auth: 'keys', runner: { claudePath: '/bin/false' }, workspaces: { allowedRoots: places.allowedRoots, ownerRoots } });
  keys = await roleKeys(t.auth);
  insider = (await t.auth.createKey({ name: 'allowed', role: 'user' })).key;
});
after(async () => {
  await t.close();
  places.cleanup();
});

type Answer = { status: number; code: string | undefined; where: string | undefined };

/** Inside an allowed root or WORKSPACES_DIR (after resolving links). */
function inside(p: string): boolean {
  const real = fs.existsSync(p) ? fs.realpathSync(p) : path.resolve(p);
  return [...places.allowedRoots, t.workspacesDir].some((r) => real === r || real.startsWith(`${r}${path.sep}`));
}

/** The session once its workspace is no longer `preparing` (a clone is made in the background). */
async function settled(id: string) {
  for (const deadline = Date.now() + 60_000; ;) {
    const s = await call(t.app, 'GET', `/api/sessions/${id}`, undefined, keys.admin);
    assert.equal(s.status, 200);
    if (s.body.metadata?.workspace?.state !== 'preparing' || Date.now() > deadline) return s.body;
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Creates a session from a corpus entry (with a prompt, so a workspace is made or refused); a created one is waited on and checked. */
async function attempt(req: HostileRequest, key: string): Promise<Answer> {
  const r = await call(t.app, 'POST', '/api/sessions', { ...req, prompt: 'hostile' }, key);
  if (r.status !== 201) return { status: r.status, code: r.body?.error?.code, where: undefined };
  const s = await settled(r.body.id);
  const ws = s.metadata?.workspace as { state?: string; path?: string; error?: { code?: string } } | undefined;
  return { status: 201, code: ws?.state === 'failed' ? ws.error?.code : undefined, where: ws?.path ?? s.project_path };
}

describe('the hostile workspace corpus through the API, as a user and as an admin', () => {
  test('never a 5xx, never a workspace outside the allowed roots, a user refused as the admin is (or earlier)', { timeout: 300_000 }, async () => {
    const before = listFiles(t.workspacesDir);
    const corpus = hostileWorkspaceCorpus(places);
    assert.ok(corpus.length >= 50);
    const wrong: string[] = [];
    const accepted: string[] = [];
    let sameAsAdmin = 0;
    for (const [name, req] of corpus) {
      const asAdmin = await attempt(req, keys.admin);
      const users = [['alice', await attempt(req, keys.alice)], ['insider', await attempt(req, insider)]] as const;
      for (const [who, a] of [['admin', asAdmin], ...users] as const) {
        if (a.status >= 500) wrong.push(`${name} as ${who}: ${a.status}`);
        if (a.status === 201) {
          accepted.push(`${name} as ${who}`);
          if (a.where && !inside(a.where)) wrong.push(`${name} as ${who}: workspace at ${a.where}, outside the allowed roots`);
          if (!a.code) wrong.push(`${name} as ${who}: accepted and its workspace was made (${a.where})`);
        } else if (a.status !== 400 && !(who !== 'admin' && a.status === 403 && a.code === 'forbidden')) {
          wrong.push(`${name} as ${who}: ${a.status} ${a.code}, expected 400 (or 403 forbidden for a user)`);
        }
      }
      for (const [who, a] of users) {
        if (a.status === 403) continue; // the own-roots check, before the manager's
        if (a.status !== asAdmin.status || a.code !== asAdmin.code) wrong.push(`${name}: ${who} got ${a.status} ${a.code}, admin ${asAdmin.status} ${asAdmin.code}`);
        else sameAsAdmin++;
      }
    }
    assert.deepEqual(wrong, []);
    // Refused up front (400 before anything is stored), as the manager test requires of each entry.
    assert.deepEqual(accepted, [], 'entries accepted at first and refused only while the workspace was made');
    // The insider's requests reach the manager's own checks for most entries (URLs and refs always).
    assert.ok(sameAsAdmin > corpus.length / 2, `only ${sameAsAdmin} user answers went past the own-roots check`);
    assert.deepEqual(listFiles(t.workspacesDir), before, 'a refused request left files in WORKSPACES_DIR');
    assert.ok(!fs.existsSync(places.pwned), 'an injected command ran');
    assert.deepEqual(fs.readdirSync(places.outside).sort(), ['secret-work', 'secret.git']);
  });

  test('a record-only session at a hostile path cannot be taken over into a run there, by any role', { timeout: 120_000 }, async () => {
    const A = path.join(places.root, 'allowed');
    for (const p of ['/etc', `${A}/etc-link`, `${A}/outside-link`, places.outside, `${A}/../..`]) {
      const codes: string[] = [];
      for (const key of [keys.admin, insider, keys.alice]) {
        // Recording where work happened stores the path as given; running there is what must be refused.
        const s = await call(t.app, 'POST', '/api/sessions', { project_path: p, metadata: {} }, key);
        assert.equal(s.status, 201, `${p}: ${JSON.stringify(s.body)}`);
        const m = await call(t.app, 'POST', `/api/sessions/${s.body.id}/messages`, { direction: 'user', content: 'run here', run: true }, key);
        if (key === keys.admin) assert.equal(m.status, 400, `${p}: ${m.status} ${JSON.stringify(m.body)}`);
        else assert.ok(m.status === 400 || (m.status === 403 && m.body.error.code === 'forbidden'), `${p}: ${m.status} ${JSON.stringify(m.body)}`);
        codes.push(m.status === 403 ? 'forbidden' : m.body.error.code);
        const after = await call(t.app, 'GET', `/api/sessions/${s.body.id}/turns`, undefined, key);
        assert.deepEqual(after.body.data, [], `${p}: a turn was stored`);
      }
      assert.ok(codes.slice(1).every((c) => c === codes[0] || c === 'forbidden'), `${p}: users refused otherwise than the admin: ${codes.join(', ')}`);
    }
    assert.ok(!fs.existsSync(places.pwned));
  });

  test('options that widen what Claude Code may do: 403 for a user, the server policy for an admin', async () => {
    const dir = fs.mkdtempSync(path.join(places.root, 'allowed', 'opt-'));
    for (const [field, value, adminCode] of [['permission_mode', 'bypassPermissions', 'dangerous_mode_disabled'], ['trust_project_settings', true, 'project_settings_disabled']] as const) {
      const body = { project_path: dir, prompt: 'x', [field]: value };
      // The insider may use this folder: the 403 is for the option itself.
      assert.equal((await call(t.app, 'POST', '/api/sessions', { project_path: dir, prompt: 'x' }, insider)).status, 201);
      const u = await call(t.app, 'POST', '/api/sessions', body, insider);
      assert.equal(u.status, 403, field);
      assert.equal(u.body.error.code, 'forbidden');
      assert.match(u.body.error.message, new RegExp(field));
      const a = await call(t.app, 'POST', '/api/sessions', body, keys.admin);
      assert.equal(a.status, 400, field);
      assert.equal(a.body.error.code, adminCode);
    }
  });
});
