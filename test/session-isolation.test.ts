/**
 * Issue 11, point 9, with the real Claude Code: a session's Bash tool tries to read the
 * server's environment (every ancestor's /proc/<pid>/environ, starting at $PPID, and the
 * server's own pid), a file in DATA_DIR and a file in another session's workspace. Under
 * ISOLATION=bwrap it sees none of them; under ISOLATION=off the same script reads all three,
 * which shows the probe can fail.
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { projectDirName, type IsolationSetting } from '../src/runner/isolation.ts';
import { waitFor } from './helpers/runner.ts';
import { serverFixture, startServeProcess } from './helpers/serve.ts';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
const get = (url: string): Promise<Json> => fetch(url).then((r) => r.json() as Promise<Json>);
const post = (url: string, body: unknown): Promise<Json> =>
  fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }).then((r) => r.json() as Promise<Json>);

// A name no redaction pattern matches, so what the tool read is stored as read: the probe
// must show the value itself, not rely on redaction hiding it.
const CANARY = 'CCO_ISOLATION_CANARY';

const idle = (url: string, id: string, turns = 1) =>
  waitFor(`session ${id} idle`, async () => {
    const s = await get(`${url}/api/sessions/${id}`);
    return s.turn_state === 'idle' && s.totals.turns >= turns ? s : undefined;
  }, 90_000);

async function probe(isolation: IsolationSetting) {
  const values = { env: `env-canary-${crypto.randomUUID()}`, data: `data-marker-${crypto.randomUUID()}`, other: `other-session-marker-${crypto.randomUUID()}` };
  // The canary is in the server's environment from its start (/proc/<pid>/environ shows only that), never handed to Claude Code.
  const { env, cleanup } = await serverFixture('cco-isolation-', { ISOLATION: isolation, [CANARY]: values.env });
  const dataDir = env.DATA_DIR!;
  fs.writeFileSync(path.join(dataDir, 'server-state.txt'), values.data);
  const server = await startServeProcess(env);
  try {
    const other = await post(`${server.url}/api/sessions`, { prompt: 'SCRIPT_JSON:[{"text":"idle"}]' });
    const otherPath = (await idle(server.url, other.id)).project_path as string;
    fs.writeFileSync(path.join(otherPath, 'notes.txt'), values.other);
    const command = [
      'echo own-ok > own.txt && cat own.txt',
      `p=$PPID; while [ "$p" -gt 1 ] 2>/dev/null; do tr '\\0' '\\n' < /proc/$p/environ | grep ${CANARY}; p=$(cut -d' ' -f4 /proc/$p/stat); done`,
      `tr '\\0' '\\n' < /proc/${server.child.pid}/environ | grep ${CANARY}`,
      `ls ${dataDir}`,
      `cat ${path.join(dataDir, 'server-state.txt')}`,
      `cat ${path.join(otherPath, 'notes.txt')}`,
      // Claude Code's config folder is shared, but another session's transcripts are not.
      'ls "$CLAUDE_CONFIG_DIR/projects"',
      'echo probe-end',
    ].join('; ');
    const script = JSON.stringify([{ tool: 'Bash', input: { command, description: 'probe' } }, { text: 'done' }]);
    const s = await post(`${server.url}/api/sessions`, { prompt: `SCRIPT_JSON:${script}`, allowed_tools: ['Bash'] });
    assert.ok(s.id, JSON.stringify(s));
    await idle(server.url, s.id);
    const logs = (await get(`${server.url}/api/sessions/${s.id}/logs`)).data as Json[];
    assert.equal(logs.length, 1, JSON.stringify(logs));
    const result = logs[0]!.result as string;
    // The tool really ran, in its own workspace, to the end.
    assert.match(result, /own-ok/);
    assert.match(result, /probe-end/);
    // Resume still works: the transcript is written where the next turn finds it.
    const first = await get(`${server.url}/api/sessions/${s.id}`);
    await post(`${server.url}/api/sessions/${s.id}/messages`, { direction: 'user', content: 'again' });
    const second = await idle(server.url, s.id, 2);
    assert.equal(second.claude_session_id, first.claude_session_id);
    const messages = (await get(`${server.url}/api/sessions/${s.id}/messages`)).data as Json[];
    assert.equal(messages.at(-1)!.content, 'Done: again');
    assert.ok(!messages.some((m) => m.metadata?.reason === 'transcript_missing'), JSON.stringify(messages));
    return { result, values, otherTranscripts: projectDirName(otherPath)!, log: server.output() };
  } finally {
    server.child.kill('SIGTERM');
    await new Promise<void>((r) => (server.child.exitCode !== null ? r() : server.child.on('exit', () => r())));
    await cleanup();
  }
}

test('ISOLATION=bwrap: a session reads neither the server environment, DATA_DIR nor another session\'s workspace', async () => {
  const { result, values, otherTranscripts, log } = await probe('bwrap');
  assert.match(log, /sessions run isolated \(bwrap\)/, 'the server says at start which isolation is in force');
  assert.ok(!result.includes(values.env), `the server environment was read:\n${result}`);
  assert.ok(!result.includes(values.data), `DATA_DIR was read:\n${result}`);
  assert.doesNotMatch(result, /^server-state\.txt$/m, `DATA_DIR was listed:\n${result}`);
  assert.ok(!result.includes(values.other), `another session's workspace was read:\n${result}`);
  assert.ok(!result.includes(otherTranscripts), `another session's transcripts were listed:\n${result}`);
  assert.match(result, /No such file or directory/);
});

test('ISOLATION=off: the same probe reads all three (the probe can fail)', async () => {
  const { result, values, otherTranscripts, log } = await probe('off');
  assert.match(log, /ISOLATION=off: sessions run unconfined/, 'the server says at start that it does not isolate');
  assert.ok(result.includes(values.env), `the server environment was not read:\n${result}`);
  assert.ok(result.includes(values.data), `DATA_DIR was not read:\n${result}`);
  assert.ok(result.includes(values.other), `another session's workspace was not read:\n${result}`);
  assert.ok(result.includes(otherTranscripts), `another session's transcripts were not listed:\n${result}`);
});
