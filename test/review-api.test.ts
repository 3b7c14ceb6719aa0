/**
 * Issue 15, review: a session's title (derived, given, edited, refused, listed, searched), the
 * turn timeline (tools and files per turn) and each turn's own diff, through HTTP, with the real
 * Claude Code binary editing a real git workspace.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, before, test } from 'node:test';
import { call } from './helpers/app.ts';
import { makeOrigin, tempRoot } from './helpers/git-repos.ts';
import { run } from './helpers/hook-payloads.ts';
import { createRunnerHarness, waitFor, waitIdle, type RunnerHarness } from './helpers/runner.ts';

let root: string;
let h: RunnerHarness;

before(async () => {
  root = tempRoot('cco-review-');
  h = await createRunnerHarness({ workspaces: { allowedRoots: [fs.realpathSync(root)] } });
});
after(async () => {
  await h.close();
  fs.rmSync(root, { recursive: true, force: true });
});

const script = (steps: unknown[]) => `SCRIPT_JSON:${JSON.stringify(steps)}`;

test('a session is titled by its first prompt line, may be given or edited a title, and bad titles are refused', async () => {
  const long = 'x'.repeat(300);
  const made = await call(h.t.app, 'POST', '/api/sessions', { project_path: '/srv/app', project_type: 'local' });
  assert.equal(made.status, 201);
  assert.equal(made.body.title, null, 'no prompt yet: no title');
  // A recorded (not run) first user message names the session: its first non-blank line, trimmed.
  const m = await call(h.t.app, 'POST', `/api/sessions/${made.body.id}/messages`, { direction: 'user', content: '\n\n   Fix the login redirect  \nsecond line' });
  assert.equal(m.status, 201);
  assert.equal((await call(h.t.app, 'GET', `/api/sessions/${made.body.id}`)).body.title, 'Fix the login redirect');
  // A later prompt does not rename it.
  await call(h.t.app, 'POST', `/api/sessions/${made.body.id}/messages`, { direction: 'user', content: 'something else' });
  assert.equal((await call(h.t.app, 'GET', `/api/sessions/${made.body.id}`)).body.title, 'Fix the login redirect');

  // A long first line is cut at 120 characters.
  const cut = await call(h.t.app, 'POST', '/api/sessions', { project_path: '/srv/app', project_type: 'local' });
  await call(h.t.app, 'POST', `/api/sessions/${cut.body.id}/messages`, { direction: 'user', content: long });
  const cutTitle = (await call(h.t.app, 'GET', `/api/sessions/${cut.body.id}`)).body.title as string;
  assert.equal(Array.from(cutTitle).length, 120);
  assert.ok(cutTitle.endsWith('…'));

  const given = await call(h.t.app, 'POST', '/api/sessions', { project_path: '/srv/app', project_type: 'local', title: '  Nightly cleanup  ' });
  assert.equal(given.body.title, 'Nightly cleanup');

  const patched = await call(h.t.app, 'PATCH', `/api/sessions/${made.body.id}`, { title: 'Login redirect (v2)' });
  assert.equal(patched.status, 200);
  assert.equal(patched.body.title, 'Login redirect (v2)');
  for (const bad of ['', '   ', 'y'.repeat(201), 42, null]) {
    const r = await call(h.t.app, 'PATCH', `/api/sessions/${made.body.id}`, { title: bad });
    assert.equal(r.status, 400, `title ${JSON.stringify(bad)}`);
    assert.equal(typeof r.body.error.code, 'string');
  }
  const badCreate = await call(h.t.app, 'POST', '/api/sessions', { project_path: '/srv/app', project_type: 'local', title: ' ' });
  assert.equal(badCreate.status, 400);
  assert.equal((await call(h.t.app, 'GET', `/api/sessions/${made.body.id}`)).body.title, 'Login redirect (v2)', 'a refused edit changes nothing');

  const list = await call(h.t.app, 'GET', '/api/sessions?limit=100');
  const titles = new Map((list.body.data as { id: string; title: string | null }[]).map((s) => [s.id, s.title]));
  assert.equal(titles.get(made.body.id), 'Login redirect (v2)');
  assert.equal(titles.get(given.body.id), 'Nightly cleanup');
  // `contains` (the substring filter) reads titles; `q` is full-text over messages and logs.
  const found = await call(h.t.app, 'GET', `/api/sessions?contains=${encodeURIComponent('redirect (v2')}`);
  assert.deepEqual(found.body.data.map((s: { id: string }) => s.id), [made.body.id], 'the substring filter reads titles');

  const spec = await call(h.t.app, 'GET', '/api/openapi.json');
  const json = JSON.stringify(spec.body);
  assert.match(json, /\/api\/sessions\/\{id\}\/turns\/\{turn\}\/diff/);
  assert.match(json, /"title"/);
});

test('each turn lists its tools and files, and its own diff holds only what it changed', { timeout: 180_000 }, async () => {
  const repo = makeOrigin(root, `review-${Date.now()}`).work;
  const first = [
    '  Add notes and a binary file',
    script([
      { tool: 'Write', input: { file_path: '{{cwd}}/notes.txt', content: 'one\ntwo\n' } },
      { tool: 'Bash', input: { command: "printf '\\000\\001\\002binary' > blob.bin", description: 'Write a binary file' } },
      { text: 'Wrote them.' },
    ]),
  ].join('\n');
  const created = await call(h.t.app, 'POST', '/api/sessions', { prompt: first, project_type: 'local', project_path: repo });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  assert.equal(created.body.title, 'Add notes and a binary file');
  const id = created.body.id as string;
  await waitIdle(h.t, id, 1, 90_000);
  const second = await call(h.t.app, 'POST', `/api/sessions/${id}/messages`, {
    direction: 'user',
    content: `Now change the notes\n${script([
      { tool: 'Edit', input: { file_path: '{{cwd}}/notes.txt', old_string: 'two', new_string: 'TWO' } },
      { tool: 'Write', input: { file_path: '{{cwd}}/more.txt', content: 'more\n' } },
      { text: 'Changed.' },
    ])}`,
  });
  assert.equal(second.status, 201);
  await waitIdle(h.t, id, 2, 90_000);
  assert.equal((await call(h.t.app, 'GET', `/api/sessions/${id}`)).body.title, 'Add notes and a binary file', 'the second prompt keeps the title');

  const page1 = await call(h.t.app, 'GET', `/api/sessions/${id}/turns?limit=1`);
  assert.equal(page1.status, 200);
  assert.equal(page1.body.data.length, 1);
  assert.ok(page1.body.next_cursor);
  const page2 = await call(h.t.app, 'GET', `/api/sessions/${id}/turns?limit=1&cursor=${encodeURIComponent(page1.body.next_cursor)}`);
  const [t1, t2] = [page1.body.data[0], page2.body.data[0]];
  assert.equal(t1.status, 'completed');
  assert.deepEqual(t1.tools.map((x: { name: string }) => x.name).sort(), ['Bash', 'Write']);
  assert.deepEqual(t2.tools.map((x: { name: string }) => x.name).sort(), ['Edit', 'Write']);
  assert.equal(t1.changes.files_changed, 2, JSON.stringify(t1.changes));
  assert.deepEqual(t1.changes.files.find((f: { path: string }) => f.path === 'blob.bin'), { path: 'blob.bin', added: null, removed: null }, 'a binary file has no line counts');
  assert.deepEqual(t2.changes.files.sort((a: { path: string }, b: { path: string }) => a.path.localeCompare(b.path)), [
    { path: 'more.txt', added: 1, removed: 0 },
    { path: 'notes.txt', added: 1, removed: 1 },
  ]);
  assert.equal(t1.changes.tree, undefined, 'the snapshot ids stay internal');

  const d1 = await call(h.t.app, 'GET', `/api/sessions/${id}/turns/${t1.id}/diff`);
  assert.equal(d1.status, 200, JSON.stringify(d1.body));
  assert.match(d1.body.diff, /\+\+\+ b\/notes\.txt\n@@ .* @@\n\+one\n\+two/);
  assert.match(d1.body.diff, /diff --git a\/blob\.bin b\/blob\.bin\n(?:.*\n)*GIT binary patch/);
  assert.doesNotMatch(d1.body.diff, /more\.txt/);
  const d2 = await call(h.t.app, 'GET', `/api/sessions/${id}/turns/${t2.id}/diff`);
  assert.equal(d2.status, 200);
  assert.match(d2.body.diff, /-two\n\+TWO/);
  assert.match(d2.body.diff, /\+\+\+ b\/more\.txt/);
  assert.doesNotMatch(d2.body.diff, /blob\.bin/, "turn 2's diff holds only turn 2's changes");
  assert.equal(d2.body.from, d1.body.tree, 'turn 2 starts where turn 1 ended');
  // The whole session's diff still has everything.
  const whole = await call(h.t.app, 'GET', `/api/sessions/${id}/diff`);
  assert.match(whole.body.diff, /blob\.bin[\s\S]*more\.txt|more\.txt[\s\S]*blob\.bin/);

  const missing = await call(h.t.app, 'GET', `/api/sessions/${id}/turns/999999/diff`);
  assert.equal(missing.status, 404);
  assert.equal(missing.body.error.code, 'not_found');
  const badTurn = await call(h.t.app, 'GET', `/api/sessions/${id}/turns/abc/diff`);
  assert.equal(badTurn.status, 400);
});

test('a turn in a folder that is not a git repository has no own diff: 409 turn_diff_unavailable', { timeout: 120_000 }, async () => {
  const plain = fs.mkdtempSync(`${root}/plain-`);
  const created = await call(h.t.app, 'POST', '/api/sessions', { prompt: 'SCRIPT:write-edit', project_type: 'local', project_path: plain });
  assert.equal(created.status, 201);
  await waitIdle(h.t, created.body.id, 1, 90_000);
  const turns = await call(h.t.app, 'GET', `/api/sessions/${created.body.id}/turns`);
  const t = turns.body.data[0];
  assert.deepEqual(t.tools.map((x: { name: string }) => x.name).sort(), ['Edit', 'Write']);
  assert.equal(t.changes, null);
  const d = await call(h.t.app, 'GET', `/api/sessions/${created.body.id}/turns/${t.id}/diff`);
  assert.equal(d.status, 409);
  assert.equal(d.body.error.code, 'turn_diff_unavailable');
});

test('a session recorded through hooks is named by its first prompt (single and batch ingest), and subscribers hear of it', async () => {
  const titled = new Map<string, string>();
  const stop = h.t.events.subscribe((e) => {
    if (e.type === 'session.updated' && e.session.title) titled.set(e.session.id, e.session.title);
  });
  try {
    const one = run();
    assert.equal((await call(h.t.app, 'POST', '/api/hooks/SessionStart', one.SessionStart)).status, 200);
    const prompt = await call(h.t.app, 'POST', '/api/hooks/UserPromptSubmit', { ...one.UserPromptSubmit, prompt: '  Tidy the imports\nand more' });
    assert.equal(prompt.status, 200, JSON.stringify(prompt.body));
    const id1 = prompt.body.session_id as string;
    assert.equal((await call(h.t.app, 'GET', `/api/sessions/${id1}`)).body.title, 'Tidy the imports');

    const two = run();
    const batch = await call(h.t.app, 'POST', '/api/hooks/batch', {
      events: [
        { event: 'SessionStart', id: `${two.sessionId}-start`, payload: two.SessionStart },
        { event: 'UserPromptSubmit', id: `${two.sessionId}-prompt`, payload: { ...two.UserPromptSubmit, prompt: 'Batch prompt line' } },
      ],
    });
    assert.equal(batch.status, 200, JSON.stringify(batch.body));
    const id2 = batch.body.results[1].session_id as string;
    assert.equal((await call(h.t.app, 'GET', `/api/sessions/${id2}`)).body.title, 'Batch prompt line');
    await waitFor('session.updated with the titles', async () => titled.get(id1) === 'Tidy the imports' && titled.get(id2) === 'Batch prompt line', 10_000);
  } finally {
    stop();
  }
});
