/**
 * CLAUDE_NICE: Claude Code, and every tool it runs, works at a lower CPU priority than the server,
 * so a machine busy with turns still answers the API and hook events. The tool reports its own
 * niceness (`nice` with no arguments prints it), which it inherits from Claude Code.
 */
import assert from 'node:assert/strict';
import os from 'node:os';
import { test } from 'node:test';
import { call } from './helpers/app.ts';
import { allLogs, createRunnerHarness, waitIdle } from './helpers/runner.ts';
import { loadConfig } from '../src/config.ts';

/** Runs one turn whose Bash tool prints its niceness, and returns what it printed. */
async function toolNiceness(claudeNice: number | undefined): Promise<string> {
  const h = await createRunnerHarness({ runner: { claudeNice } });
  try {
    const script = JSON.stringify([{ tool: 'Bash', input: { command: 'nice', description: 'Print the niceness' } }, { text: 'ok' }]);
    const created = await call(h.t.app, 'POST', '/api/sessions', { prompt: `SCRIPT_JSON:${script}`, allowed_tools: ['Bash'] });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    await waitIdle(h.t, created.body.id, 1);
    const logs = await allLogs(h.t, created.body.id);
    assert.equal(logs.length, 1);
    assert.equal(logs[0]!.status, 'completed');
    return String(logs[0]!.result).trim();
  } finally {
    await h.close();
  }
}

test('a turn and its tools run at the configured niceness; the server keeps its own', async () => {
  const server = os.getPriority();
  // nice -n adds to the server's own niceness (0 when the suite runs normally), at most 19.
  assert.equal(await toolNiceness(7), String(Math.min(19, server + 7)));
  assert.equal(os.getPriority(), server, 'the server itself is not reniced');
});

test('CLAUDE_NICE=0 leaves Claude Code at the server priority', async () => {
  assert.equal(await toolNiceness(0), String(os.getPriority()));
});

test('CLAUDE_NICE: 10 by default, 0-19 accepted, anything else refused at start', () => {
  assert.equal(loadConfig({}).runner.claudeNice, 10);
  assert.equal(loadConfig({ CLAUDE_NICE: '0' }).runner.claudeNice, 0);
  assert.equal(loadConfig({ CLAUDE_NICE: '19' }).runner.claudeNice, 19);
  for (const bad of ['20', '-5', 'low', '2.5']) assert.throws(() => loadConfig({ CLAUDE_NICE: bad }), /CLAUDE_NICE/, bad);
});
