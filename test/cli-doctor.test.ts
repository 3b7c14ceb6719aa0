import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { startModelServer } from '../src/model-server/server.ts';
import { claudeTestEnv } from './helpers/claude.ts';

const CCO = path.resolve('bin/cco.mjs');

function doctor(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const c = spawn(process.execPath, [CCO, 'doctor', ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    c.stdout.on('data', (d: Buffer) => (out += d.toString()));
    c.stderr.on('data', (d: Buffer) => (out += d.toString()));
    c.on('exit', (code) => resolve({ code, out }));
  });
}

test('cco doctor runs a real turn against a model server, checks capture and resume', async () => {
  const model = await startModelServer({ port: 0 });
  const configDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cco-doctor-cfg-'));
  try {
    const env: NodeJS.ProcessEnv = { ...claudeTestEnv({ baseUrl: 'http://unused.invalid', configDir }), PATH: process.env.PATH };
    delete env.ANTHROPIC_BASE_URL; // the URL must come from --model-url
    const r = await doctor(['--model-url', model.url, '--scripted'], env);
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /ok\s+version: \d+\.\d+\.\d+/);
    assert.match(r.out, /ok\s+isolation: bwrap: each turn sees only its workspace/);
    assert.match(r.out, /ok\s+tool capture: 1 tool call/);
    assert.match(r.out, /ok\s+resume/);
    assert.ok(model.requests.some((q) => q.reply.startsWith('bash#')), 'the turn really went to the given model server');
  } finally {
    await model.close();
    fs.rmSync(configDir, { recursive: true, force: true });
  }
});

test('cco doctor says plainly what is wrong', async () => {
  const bad = await doctor([], { PATH: process.env.PATH, HOME: os.tmpdir(), CLAUDE_PATH: '/no/such/claude' });
  assert.equal(bad.code, 1);
  assert.match(bad.out, /FAIL version: Cannot run \/no\/such\/claude/);
  const noKey = await doctor([], { PATH: process.env.PATH, HOME: os.tmpdir() });
  assert.equal(noKey.code, 1);
  assert.match(noKey.out, /FAIL credentials: No ANTHROPIC_API_KEY/);
  // A host where bwrap cannot run (here: not on PATH) is reported, and so is a deliberate off.
  const noBwrap = await doctor([], { PATH: '/nonexistent', HOME: os.tmpdir(), CLAUDE_PATH: process.execPath });
  assert.match(noBwrap.out, /FAIL isolation: NOT ISOLATED: bubblewrap \(bwrap\) is not installed/);
  const off = await doctor([], { PATH: process.env.PATH, HOME: os.tmpdir(), CLAUDE_PATH: process.execPath, ISOLATION: 'off' });
  assert.match(off.out, /ok\s+isolation: ISOLATION=off: sessions run unconfined/);
});
