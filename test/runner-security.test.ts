/**
 * Issue 9, points 13 and 19, with the real Claude Code: a cloned repository's
 * own .claude/settings.json (its hooks) is not loaded unless the session asks
 * and the server allows it; and every secret the server knows is redacted from
 * what is stored, even when Claude Code never had the value.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { sql } from 'kysely';
import { loadConfig } from '../src/config.ts';
import { call } from './helpers/app.ts';
import { git, makeOrigin, tempRoot, testWorkspacesConfig } from './helpers/git-repos.ts';
import { allLogs, createRunnerHarness, waitIdle } from './helpers/runner.ts';

/**
 * An origin whose main branch carries a .claude/settings.json with hooks that leave `marker` behind,
 * a path relative to the workspace: an isolated turn (ISOLATION) sees no folder outside it.
 */
function hostileOrigin(root: string, marker: string) {
  const origin = makeOrigin(root, 'hostile');
  fs.mkdirSync(path.join(origin.work, '.claude'));
  const touch = { type: 'command', command: `echo "$PWD" >> ${marker}` };
  fs.writeFileSync(path.join(origin.work, '.claude', 'settings.json'), JSON.stringify({
    hooks: {
      SessionStart: [{ hooks: [touch] }],
      UserPromptSubmit: [{ hooks: [touch] }],
      PreToolUse: [{ matcher: '*', hooks: [touch] }],
    },
  }));
  git(origin.work, 'add', '.');
  git(origin.work, 'commit', '--quiet', '-m', 'project settings with hooks');
  git(origin.work, 'push', '--quiet', origin.bare, 'main');
  return origin;
}

const SCRIPT = `SCRIPT_JSON:${JSON.stringify([{ tool: 'Bash', input: { command: 'echo ran', description: 'x' } }, { text: 'done' }])}`;

test("a cloned repository's .claude/settings.json hooks do not run unless trusted by the session and allowed by the server", async () => {
  const root = tempRoot();
  const marker = 'hook-ran.txt';
  const origin = hostileOrigin(root, marker);
  const off = await createRunnerHarness({ workspaces: testWorkspacesConfig(root) });
  try {
    for (const body of [
      { project_type: 'github', repo_url: origin.url, prompt: SCRIPT, allowed_tools: ['Bash'] },
      { project_type: 'worktree', base_repo: origin.url, prompt: SCRIPT, allowed_tools: ['Bash'] },
    ]) {
      const s = await call(off.t.app, 'POST', '/api/sessions', body);
      assert.equal(s.status, 201, JSON.stringify(s.body));
      // The workspace is made in the background: its folder is known once it is ready.
      const done = await waitIdle(off.t, s.body.id, 1, 90_000);
      assert.ok(fs.existsSync(path.join(done.project_path, '.claude', 'settings.json')), 'the settings file is in the workspace');
      assert.ok((await allLogs(off.t, s.body.id)).some((l) => l.tool === 'Bash' && /ran/.test(l.result)), 'the turn ran its tool');
      assert.ok(!fs.existsSync(path.join(done.project_path, marker)), `${body.project_type}: a hook of the cloned repository ran on the host`);
    }
    const asked = await call(off.t.app, 'POST', '/api/sessions', { project_type: 'github', repo_url: origin.url, prompt: 'hi', trust_project_settings: true });
    assert.equal(asked.status, 400, JSON.stringify(asked.body));
    assert.equal(asked.body.error.code, 'project_settings_disabled');
  } finally {
    await off.close();
  }

  const on = await createRunnerHarness({ workspaces: testWorkspacesConfig(root), runner: { allowProjectSettings: true } });
  try {
    const notAsked = await call(on.t.app, 'POST', '/api/sessions', { project_type: 'github', repo_url: origin.url, prompt: SCRIPT, allowed_tools: ['Bash'] });
    const notAskedDone = await waitIdle(on.t, notAsked.body.id, 1, 90_000);
    assert.ok(!fs.existsSync(path.join(notAskedDone.project_path, marker)), 'allowed by the server but not asked by the session: not loaded');
    const trusted = await call(on.t.app, 'POST', '/api/sessions', { project_type: 'github', repo_url: origin.url, prompt: SCRIPT, allowed_tools: ['Bash'], trust_project_settings: true });
    assert.equal(trusted.status, 201, JSON.stringify(trusted.body));
    const trustedDone = await waitIdle(on.t, trusted.body.id, 1, 90_000);
    const ran = path.join(trustedDone.project_path, marker);
    assert.ok(fs.existsSync(ran), 'trusted and allowed: the project hooks ran');
    assert.match(fs.readFileSync(ran, 'utf8'), new RegExp(trusted.body.id));
  } finally {
    await on.close();
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test('secrets only the server holds (GIT_CREDENTIALS, *_TOKEN, the database password) are redacted from messages and logs', async () => {
  const serverEnv = {
    GIT_CREDENTIALS: 'https://x:tok123secret@git.example.invalid',
    FOO_TOKEN: 'foo-token-abcdef',
    DATABASE_URL: 'postgres://app:dbpass-9876@db.example.invalid/app',
    SOME_CREDENTIAL_FILE_CONTENT: 'cred-value-4242',
  };
  const secrets = loadConfig(serverEnv).runner.secrets;
  const h = await createRunnerHarness({ runner: { secrets } });
  try {
    // The values are put together by the shell, so neither the prompt nor the tool input holds them:
    // only the tool's output does, as when a tool reads the server's environment through /proc.
    const script = JSON.stringify([
      { tool: 'Bash', input: { command: "for v in tok 123secret foo-token- abcdef dbpass- 9876 cred-value- 4242; do printf %s $v; done; echo", description: 'print' } },
      { text: 'done' },
    ]);
    const s = await call(h.t.app, 'POST', '/api/sessions', { prompt: `SCRIPT_JSON:${script}`, allowed_tools: ['Bash'] });
    await waitIdle(h.t, s.body.id, 1, 90_000);
    const logs = await allLogs(h.t, s.body.id);
    assert.equal(logs[0]!.result.trim(), '[redacted][redacted][redacted][redacted]');
    const dump = await sql<{ t: string }>`
      select coalesce((select string_agg(m::text, ' ') from session_messages m), '') ||
             coalesce((select string_agg(l::text, ' ') from command_logs l), '') ||
             coalesce((select string_agg(t::text, ' ') from turns t), '') as t`.execute(h.t.db.database.db);
    const all = dump.rows[0]!.t;
    for (const v of ['tok123secret', 'foo-token-abcdef', 'dbpass-9876', 'cred-value-4242']) assert.ok(!all.includes(v), `${v} stored in clear`);
  } finally {
    await h.close();
  }
});
