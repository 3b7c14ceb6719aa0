/**
 * End to end: the real `claude` binary run by hand (`claude -p`, stdin closed) in
 * a folder where `cco hooks install --project` put the hooks, against the
 * scripted model server; every event must reach the database, including across
 * a server outage in the middle of the run.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { startModelServer, type ModelServer } from '../src/model-server/server.ts';
import { claudeTestEnv, contentBlocks, resultsOf, runClaudePrint, type StreamMessage } from './helpers/claude.ts';
import { drainSpool, queued, startHookServer, waitFor, type HookServer } from './helpers/hook-server.ts';

const exec = promisify(execFile);
let model: ModelServer;
let srv: HookServer;
let tmp: string;
let proj: string;
let configDir: string;
let spool: string;

before(async () => {
  model = await startModelServer({ port: 0 });
  // AUTH=keys: the forwarder must send the hook token it was installed with.
  srv = await startHookServer({ keys: true });
  const { key } = await srv.auth.createKey({ name: 'hook-e2e', role: 'hook', owner: 'alice' });
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cco-hooks-e2e-'));
  proj = path.join(tmp, 'proj');
  configDir = path.join(tmp, 'claude-config');
  spool = path.join(tmp, 'cco-home', 'spool');
  fs.mkdirSync(proj);
  fs.mkdirSync(configDir);
  const env = { PATH: process.env.PATH, HOME: tmp, CCO_HOME: path.join(tmp, 'cco-home'), CLAUDE_CONFIG_DIR: configDir, LOG_LEVEL: 'silent' };
  await exec(process.execPath, [path.resolve('bin/cco.mjs'), 'hooks', 'install', '--project', proj, '--url', srv.url, '--token', key], { env });
  const token = path.join(spool, 'token');
  assert.equal(fs.statSync(token).mode & 0o777, 0o600, 'the token file is readable by its user only');
});
after(async () => {
  await drainSpool(spool).catch(() => {});
  await srv.close();
  await model.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

const PROMPT = `SCRIPT_JSON:${JSON.stringify([
  { tool: 'Bash', input: { command: 'echo e2e-one', description: 'one' }, delay_ms: 150 },
  { tool: 'Bash', input: { command: 'echo e2e-bad >&2; exit 3', description: 'fail' }, delay_ms: 150 },
  { tool: 'Write', input: { file_path: '{{cwd}}/w.txt', content: 'written\n' }, delay_ms: 150 },
  { tool: 'Bash', input: { command: 'cat w.txt', description: 'two' }, delay_ms: 150 },
  { text: 'Finished e2e.' },
])}`;

function runClaude(sessionId: string, extra: Record<string, string> = {}) {
  return runClaudePrint({
    prompt: PROMPT,
    cwd: proj,
    env: claudeTestEnv({ baseUrl: model.url, configDir, extra: { HOME: tmp, ANTHROPIC_API_KEY: 'sk-fake', ...extra } }),
    args: ['--permission-mode', 'acceptEdits', '--allowedTools', 'Bash', '--session-id', sessionId],
    timeoutMs: 60_000,
  });
}

/** Tool calls of the stream with their error flag (all of them ran: none denied or invalid, see the prompt). */
function toolResults(messages: StreamMessage[]) {
  return contentBlocks(messages, 'user')
    .filter((b) => b.type === 'tool_result')
    .map((b) => ({ id: String(b.tool_use_id), error: b.is_error === true }));
}

async function stored(claudeSessionId: string) {
  const db = srv.db.database.db;
  const s = await db.selectFrom('sessions').selectAll().where('claude_session_id', '=', claudeSessionId).executeTakeFirst();
  if (!s) return undefined;
  const logs = await db.selectFrom('command_logs').selectAll().where('session_id', '=', s.id).orderBy('id').execute();
  const events = await db.selectFrom('session_events').selectAll().where('session_id', '=', s.id).orderBy('id').execute();
  const messages = await db.selectFrom('session_messages').selectAll().where('session_id', '=', s.id).orderBy('id').execute();
  return { session: s, logs, events, messages };
}

function assertComplete(got: NonNullable<Awaited<ReturnType<typeof stored>>>, messages: StreamMessage[]) {
  const tools = toolResults(messages);
  assert.equal(tools.length, 4, 'the script ran four tools');
  assert.deepEqual(got.logs.map((l) => l.tool_use_id), tools.map((t) => t.id), 'one log per tool call, in order, none twice');
  assert.deepEqual(got.logs.map((l) => l.status), tools.map((t) => (t.error ? 'error' : 'completed')));
  assert.match(String(got.logs[1]!.result), /Exit code 3/);
  assert.deepEqual(got.events.map((e) => e.event), ['SessionStart', 'UserPromptSubmit', 'Stop', 'SessionEnd']);
  assert.deepEqual(got.messages.map((m) => [m.direction, m.source, m.content]), [
    ['user', 'cli', PROMPT],
    ['assistant', 'cli', 'Finished e2e.'],
  ]);
  assert.equal(got.session.source, 'cli');
  assert.equal(got.session.owner, 'alice', "the hook token's owner owns the hand-started run");
  assert.equal(fs.realpathSync(got.session.project_path), fs.realpathSync(proj));
  assert.equal(got.session.status, 'completed');
}

describe('hooks with the real claude binary', () => {
  test('every event of a run started by hand is stored', async () => {
    const sid = randomUUID();
    const run = await runClaude(sid);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(resultsOf(run.messages)[0]?.is_error, false);
    await drainSpool(spool);
    const got = await stored(sid);
    assert.ok(got, 'the run became a session');
    assertComplete(got, run.messages);
    assert.ok(!fs.existsSync(path.join(spool, 'dead')), 'nothing was dead-lettered');
  });

  test('server stopped while claude runs: events are spooled and delivered after the restart, none lost, none duplicated', async () => {
    const sid = randomUUID();
    const running = runClaude(sid);
    // Stop the server as soon as the prompt arrived, while the tools still have to run.
    await waitFor(async () => (await stored(sid))?.messages.length === 1, 30_000, 'the prompt to arrive');
    await srv.stop();
    const run = await running;
    assert.equal(run.code, 0, run.stderr);
    assert.ok(queued(spool).length >= 6, `events waiting in the spool: ${queued(spool).length}`);
    const during = await stored(sid);
    assert.equal(during?.logs.length, 0);
    assert.equal(during?.session.status, 'active');
    await srv.start();
    await drainSpool(spool, 20_000);
    const got = await stored(sid);
    assert.ok(got);
    assertComplete(got, run.messages);
  });

  test('a run the orchestrator manages (CCO_MANAGED_RUN=1) is left to the runner', async () => {
    const sid = randomUUID();
    const run = await runClaude(sid, { CCO_MANAGED_RUN: '1', CCO_SESSION_ID: randomUUID() });
    assert.equal(run.code, 0, run.stderr);
    await drainSpool(spool);
    assert.equal(await stored(sid), undefined);
  });
});
