import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import type { SpawnedProcess, SpawnOptions } from '@anthropic-ai/claude-agent-sdk';
import pino from 'pino';
import { localSpawner } from '../src/runner/spawn.ts';
import { StreamRecorder } from '../src/runner/stream-recorder.ts';
import { startTurn } from '../src/runner/turn.ts';
import { call, capturingLogger } from './helpers/app.ts';
import { claudeTestEnv } from './helpers/claude.ts';
import { allMessages, createRunnerHarness, waitFor, waitIdle } from './helpers/runner.ts';

test('a turn that shows no progress for TURN_STALL_WARN_S gets a system message and a warn log, and still finishes', async () => {
  const { logger, lines } = capturingLogger('info');
  const h = await createRunnerHarness({ logger, runner: { turnStallWarnS: 2 } });
  try {
    // The model takes 8 s to answer: nothing moves in the turn meanwhile.
    const script = [{ text: 'a slow answer', delay_ms: 8_000 }];
    const created = await call(h.t.app, 'POST', '/api/sessions', { prompt: `SCRIPT_JSON:${JSON.stringify(script)}` });
    const sessionId = created.body.id as string;
    const turnId = created.body.turn.id as number;
    const stalled = await waitFor('the stall notice', async () =>
      (await allMessages(h.t, sessionId)).find((m) => m.direction === 'system' && m.metadata.reason === 'stalled'), 60_000);
    assert.equal(stalled.metadata.turn_id, turnId);
    assert.match(stalled.content, /no progress for \d+ s/i);
    const turns = await call(h.t.app, 'GET', `/api/sessions/${sessionId}/turns`);
    assert.equal(turns.body.data[0].status, 'running', 'the notice came while the turn ran');
    const warn = lines.find((l) => l.msg === 'turn shows no progress');
    assert.ok(warn, 'a warn log');
    assert.equal(warn.level, 40);
    assert.equal(warn.sessionId, sessionId);
    assert.equal(warn.turnId, turnId);

    const s = await waitIdle(h.t, sessionId, 1);
    assert.equal(s.status, 'active');
    const messages = await allMessages(h.t, sessionId);
    assert.equal(messages.at(-1)!.content, 'a slow answer');
    // Once per stall, not every interval: the 8 s wait is one notice (a slow start under load may add one).
    assert.ok(messages.filter((m) => m.metadata.reason === 'stalled').length <= 2, 'one notice per stall');
    assert.ok(lines.some((l) => l.msg === 'turn progressing again' && l.turnId === turnId), 'progress afterwards is logged');
  } finally {
    await h.close();
  }
});

test('a turn ends soon after its result even when Claude Code does not report itself idle', async () => {
  const h = await createRunnerHarness();
  const local = localSpawner();
  try {
    const created = await call(h.t.app, 'POST', '/api/sessions', { prompt: 'first' });
    const session = await waitIdle(h.t, created.body.id, 1);
    fs.writeFileSync(path.join(session.project_path, 'f.txt'), 'hello\n');
    // After a result the SDK keeps Claude Code's stdin open until Claude Code reports the
    // host-only state "idle" (up to 10 minutes). Hide that report, as a late one would.
    let hidden = 0;
    const spawner = (o: SpawnOptions): SpawnedProcess => {
      const p = local.spawner(o);
      const lines = readline.createInterface({ input: p.stdout });
      const stdout = new PassThrough();
      lines.on('line', (l) => {
        if (l.includes('"session_state_changed"') && l.includes('"idle"')) hidden++;
        else stdout.write(`${l}\n`);
      });
      lines.on('close', () => stdout.end());
      return Object.create(p, { stdout: { value: stdout } }) as SpawnedProcess;
    };
    const recorder = new StreamRecorder({
      sessions: h.t.sessions, logger: pino({ level: 'silent' }), sessionId: session.id, source: 'api', resultMaxBytes: 50_000, secrets: [], onClaudeSessionId: async () => {},
    });
    const script = [{ tool: 'Bash', input: { command: 'cat f.txt', description: 'Read' } }, { text: 'It says hello.' }];
    const handle = startTurn({
      prompt: `SCRIPT_JSON:${JSON.stringify(script)}`, cwd: session.project_path, resume: session.claude_session_id, recorder, spawner,
      options: { permission_mode: 'acceptEdits', timeout_s: 600, trust_project_settings: false }, env: claudeTestEnv({ baseUrl: h.model.url, configDir: h.configDir }) as Record<string, string>,
      claudePath: undefined, secrets: [], projectSettings: true,
    });
    let timer: NodeJS.Timeout | undefined;
    const end = await Promise.race([handle.done, new Promise<'late'>((r) => (timer = setTimeout(() => r('late'), 90_000)))]);
    clearTimeout(timer);
    if (end === 'late') {
      handle.interrupt('shutdown');
      await handle.done;
      assert.fail('the turn was still running 90 s after it started');
    }
    assert.ok(hidden > 0, 'Claude Code did report idle, and the test hid it');
    assert.equal(end.kind, 'result');
    assert.equal(recorder.result?.text, 'It says hello.');
  } finally {
    local.killAll();
    await h.close();
  }
});
