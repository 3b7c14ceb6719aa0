/** The scripted model server, driven by the real Claude Code binary and by plain HTTP. */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startModelServer, TURN_COUNTS_PATH, type ModelServer } from '../src/model-server/server.ts';
import { claudeTestEnv, contentBlocks, resultsOf, runClaudePrint, type StreamMessage } from './helpers/claude.ts';

let server: ModelServer;
let root: string;

before(async () => {
  server = await startModelServer();
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'cco-model-server-'));
});
after(async () => {
  await server.close();
  fs.rmSync(root, { recursive: true, force: true });
});

let runs = 0;
/** One `claude -p` run in a fresh cwd and config dir. */
async function claude(prompt: string, opts: { args?: string[]; configDir?: string; cwd?: string; extraEnv?: Record<string, string> } = {}) {
  runs += 1;
  const cwd = opts.cwd ?? fs.mkdtempSync(path.join(root, `cwd-${runs}-`));
  const configDir = opts.configDir ?? fs.mkdtempSync(path.join(root, `cfg-${runs}-`));
  const env = claudeTestEnv({ baseUrl: server.url, configDir, extra: opts.extraEnv });
  const args = ['--permission-mode', 'acceptEdits', '--allowedTools', 'Bash', ...(opts.args ?? [])];
  const r = await runClaudePrint({ prompt, cwd, env, args });
  return { ...r, cwd, configDir };
}

const toolUses = (m: StreamMessage[]) => contentBlocks(m, 'assistant').filter((b) => b.type === 'tool_use');
const toolResults = (m: StreamMessage[]) => contentBlocks(m, 'user').filter((b) => b.type === 'tool_result');
function onlyResult(m: StreamMessage[]): StreamMessage {
  const results = resultsOf(m);
  assert.equal(results.length, 1, 'exactly one result');
  return results[0] as StreamMessage;
}

describe('real Claude Code against the scripted model server', () => {
  test('bash: runs a real Bash command and gets its output back', async () => {
    const r = await claude('SCRIPT:bash');
    assert.equal(r.code, 0, r.stderr);
    const [use] = toolUses(r.messages);
    assert.equal(use?.name, 'Bash');
    const [res] = toolResults(r.messages);
    assert.equal(res?.tool_use_id, use?.id);
    assert.equal(res?.content, 'hello-from-bash');
    assert.equal(res?.is_error, false);
    const result = onlyResult(r.messages);
    assert.equal(result.is_error, false);
    assert.equal(result.result, 'Finished script bash.');
    assert.ok((result.total_cost_usd as number) > 0, 'usage gives a non-zero cost');
  });

  test('write-edit: the edited file is on disk', async () => {
    const r = await claude('SCRIPT:write-edit');
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(toolUses(r.messages).map((b) => b.name), ['Write', 'Edit']);
    assert.equal(fs.readFileSync(path.join(r.cwd, 'notes.txt'), 'utf8'), 'hello from edit\n');
  });

  test('fail: a command exiting non-zero gives an is_error tool_result', async () => {
    const r = await claude('SCRIPT:fail');
    assert.equal(r.code, 0, r.stderr);
    const [res] = toolResults(r.messages);
    assert.equal(res?.is_error, true);
    assert.match(String(res?.content), /Exit code 3/);
    assert.equal(onlyResult(r.messages).result, 'Finished script fail.');
  });

  test('multi: five tool calls in a row, then text', async () => {
    const r = await claude('SCRIPT:multi');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(toolUses(r.messages).length, 5);
    assert.deepEqual(
      toolResults(r.messages).map((b) => b.content),
      [1, 2, 3, 4, 5].map((i) => `multi-step-${i}`),
    );
    assert.equal(onlyResult(r.messages).num_turns, 6);
  });

  test('SCRIPT_JSON: two parallel tool_use blocks in one assistant turn', async () => {
    const script = [
      {
        tools: [
          { name: 'Bash', input: { command: 'echo left', description: 'left' } },
          { name: 'Write', input: { file_path: '{{cwd}}/right.txt', content: 'right' } },
        ],
      },
      { text: 'both done' },
    ];
    const r = await claude(`SCRIPT_JSON:${JSON.stringify(script)}`);
    assert.equal(r.code, 0, r.stderr);
    const uses = toolUses(r.messages);
    assert.deepEqual(uses.map((b) => b.name).sort(), ['Bash', 'Write']);
    const results = toolResults(r.messages);
    assert.equal(results.length, 2);
    assert.ok(results.every((b) => b.is_error !== true));
    assert.equal(fs.readFileSync(path.join(r.cwd, 'right.txt'), 'utf8'), 'right');
    // Both calls answered one request: the script advanced by exactly one step.
    assert.equal(onlyResult(r.messages).result, 'both done');
  });

  test('an HTTP 400 step ends the turn with is_error true', async () => {
    const script = [{ tool: 'Bash', input: { command: 'echo before-error' } }, { error: { status: 400, message: 'scripted bad request' } }];
    const r = await claude(`SCRIPT_JSON:${JSON.stringify(script)}`);
    assert.equal(r.code, 1);
    const result = onlyResult(r.messages);
    assert.equal(result.is_error, true);
    assert.match(String(result.result), /scripted bad request/);
  });

  test('resume with a plain prompt continues the same session with its history', async () => {
    const first = await claude('SCRIPT:bash');
    assert.equal(first.code, 0, first.stderr);
    const sessionId = onlyResult(first.messages).session_id as string;
    const before = server.requests.length;
    const second = await claude('and now a plain follow-up', {
      cwd: first.cwd,
      configDir: first.configDir,
      args: ['--resume', sessionId],
    });
    assert.equal(second.code, 0, second.stderr);
    const result = onlyResult(second.messages);
    assert.equal(result.session_id, sessionId);
    assert.equal(result.result, 'Done: and now a plain follow-up');
    const sent = server.requests.slice(before).find((q) => q.path === '/v1/messages' && q.reply === 'plain');
    const text = JSON.stringify((sent?.body as { messages: unknown }).messages);
    assert.ok(text.includes('SCRIPT:bash') && text.includes('hello-from-bash'), 'earlier turn is in the request');
  });

  test('TURN_ID: the server counts one start and every request of a real turn, and a resumed turn apart', async () => {
    const first = await claude('TURN_ID:real-1 SCRIPT:bash');
    assert.equal(first.code, 0, first.stderr);
    assert.deepEqual(server.turnCounts.get('real-1'), { starts: 1, requests: 2 }, 'tool_use step and text step');
    const sessionId = onlyResult(first.messages).session_id as string;
    const second = await claude('TURN_ID:real-2 go on', { cwd: first.cwd, configDir: first.configDir, args: ['--resume', sessionId] });
    assert.equal(second.code, 0, second.stderr);
    assert.deepEqual(server.turnCounts.get('real-2'), { starts: 1, requests: 1 });
    assert.deepEqual(server.turnCounts.get('real-1'), { starts: 1, requests: 2 }, 'the earlier prompt in the history is not counted again');
  });
});

describe('scripted model server over plain HTTP', () => {
  const post = (p: string, body: unknown) =>
    fetch(`${server.url}${p}`, { method: 'POST', headers: { 'x-api-key': 'anything' }, body: JSON.stringify(body) });
  const tools = [{ name: 'Bash', input_schema: { type: 'object' } }];

  test('non-streaming JSON, step chosen by assistant turns since the prompt', async () => {
    const messages = [
      { role: 'user', content: 'SCRIPT:bash' },
      { role: 'assistant', content: [{ type: 'tool_use', id: 't1', name: 'Bash', input: {} }] },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: 't1', content: 'x' }] },
    ];
    const res = await post('/v1/messages', { model: 'm', max_tokens: 10, tools, messages });
    assert.equal(res.status, 200);
    const body = (await res.json()) as { content: Array<{ text: string }>; stop_reason: string; usage: { input_tokens: number } };
    assert.equal(body.stop_reason, 'end_turn');
    assert.equal(body.content[0]?.text, 'Finished script bash.');
    assert.ok(body.usage.input_tokens > 0);
  });

  test('auxiliary requests (no tools) get short text; count_tokens answers; unknown paths 404', async () => {
    const aux = await post('/v1/messages', { model: 'm', max_tokens: 10, messages: [{ role: 'user', content: 'SCRIPT:fail' }] });
    assert.equal(((await aux.json()) as { stop_reason: string }).stop_reason, 'end_turn');
    const count = await post('/v1/messages/count_tokens', { model: 'm', messages: [{ role: 'user', content: 'hi' }] });
    assert.ok(((await count.json()) as { input_tokens: number }).input_tokens > 0);
    const missing = await post('/v1/nothing', {});
    assert.equal(missing.status, 404);
    assert.equal(((await missing.json()) as { type: string }).type, 'error');
    assert.equal(server.requests.some((q) => 'x-api-key' in q.headers), false, 'credentials are not recorded');
  });

  test('delay_ms holds the answer; an invalid SCRIPT_JSON is a 400', async () => {
    const started = Date.now();
    const slow = await post('/v1/messages', {
      model: 'm', max_tokens: 10, tools,
      messages: [{ role: 'user', content: 'SCRIPT_JSON:[{"text":"late","delay_ms":200}]' }],
    });
    assert.equal(((await slow.json()) as { content: Array<{ text: string }> }).content[0]?.text, 'late');
    assert.ok(Date.now() - started >= 190);
    const bad = await post('/v1/messages', { model: 'm', max_tokens: 10, tools, messages: [{ role: 'user', content: 'SCRIPT_JSON:[{' }] });
    assert.equal(bad.status, 400);
  });

  test('TURN_ID: the last id of the prompt counts, a second start is visible over HTTP, and record:false keeps no bodies', async () => {
    const quiet = await startModelServer({ record: false });
    try {
      const replayed = 'earlier: TURN_ID:old-1 and TURN_ID:old-2\nTURN_ID:new-1 SCRIPT:bash';
      const send = (messages: unknown[]) =>
        fetch(`${quiet.url}/v1/messages`, { method: 'POST', body: JSON.stringify({ model: 'm', max_tokens: 10, tools, messages }) });
      assert.equal((await send([{ role: 'user', content: replayed }])).status, 200);
      const step1 = [
        { role: 'user', content: replayed },
        { role: 'assistant', content: [{ type: 'tool_use', id: 't1', name: 'Bash', input: {} }] },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 't1', content: 'x' }] },
      ];
      assert.equal((await send(step1)).status, 200);
      assert.equal((await send([{ role: 'user', content: replayed }])).status, 200, 'the same turn started again');
      const counts = (await (await fetch(`${quiet.url}${TURN_COUNTS_PATH}`)).json()) as Record<string, unknown>;
      assert.deepEqual(counts, { 'new-1': { starts: 2, requests: 3 } });
      assert.equal(quiet.requests.length, 0);
    } finally {
      await quiet.close();
    }
  });

  test('a replayed conversation: the last directive of the prompt is the one played', async () => {
    const replay = ['<conversation>', 'User: SCRIPT:fail', 'User: SCRIPT_JSON:[{"text":"old"}]', '</conversation>', '', 'SCRIPT_JSON:[{"text":"new"}]'].join('\n');
    const res = await post('/v1/messages', { model: 'm', max_tokens: 10, tools, messages: [{ role: 'user', content: replay }] });
    assert.equal(((await res.json()) as { content: Array<{ text: string }> }).content[0]?.text, 'new');
    const named = await post('/v1/messages', { model: 'm', max_tokens: 10, tools, messages: [{ role: 'user', content: 'User: SCRIPT:fail\n\nSCRIPT:text' }] });
    assert.equal(((await named.json()) as { content: Array<{ text: string }> }).content[0]?.text, 'Finished script text.');
    // Only the prompt after the quoted conversation counts: a plain one is answered plainly, not
    // with a script an earlier prompt named (which would replay a long sleep in a crash test).
    const plain = ['<conversation>', 'User: SCRIPT:sleep', '</conversation>', '', 'carry on'].join('\n');
    const after = await post('/v1/messages', { model: 'm', max_tokens: 10, tools, messages: [{ role: 'user', content: plain }] });
    assert.equal(((await after.json()) as { content: Array<{ text: string }> }).content[0]?.text, 'Done: carry on');
  });
});
