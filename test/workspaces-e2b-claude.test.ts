/**
 * The e2b spawner with the real Claude Code binary: the Agent SDK's query()
 * starts Claude Code through WorkspaceManager.spawner(), the real `e2b` SDK
 * talks to the local E2B stand-in, the stand-in runs the binary, and the
 * binary talks to the scripted model server. The stream must come back as from
 * a local process and the edits must land in the sandbox's workspace.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { query, type SDKMessage } from '@anthropic-ai/claude-agent-sdk';
import { createLogger } from '../src/logger.ts';
import { startModelServer, type ModelServer } from '../src/model-server/server.ts';
import { WorkspaceManager } from '../src/workspaces/manager.ts';
import { claudeBinaryPath } from './helpers/claude.ts';
import { startE2bStandIn, type E2bStandIn } from './helpers/e2b-standin.ts';
import { makeOrigin, tempRoot, testWorkspacesConfig, type Origin } from './helpers/git-repos.ts';

let root: string;
let origin: Origin;
let standIn: E2bStandIn;
let model: ModelServer;
let configDir: string;

before(async () => {
  root = tempRoot();
  origin = makeOrigin(root);
  standIn = await startE2bStandIn();
  model = await startModelServer();
  configDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cco-claude-config-'));
});
after(async () => {
  await standIn.close();
  await model.close();
  fs.rmSync(root, { recursive: true, force: true });
  fs.rmSync(configDir, { recursive: true, force: true });
});

test('Claude Code runs inside the (stand-in) sandbox and its stream flows back through the SDK', { timeout: 90_000 }, async () => {
  const base = testWorkspacesConfig(root);
  const config = { ...base, e2b: { ...base.e2b, apiKey: standIn.apiKey, apiUrl: standIn.url, sandboxUrl: standIn.url, workdir: path.join(root, 'sandbox-fs'), claudeCommand: claudeBinaryPath() } };
  const manager = new WorkspaceManager(config, createLogger('silent', { pretty: false }));
  const record = await manager.prepare({ sessionId: '00000000-0000-4000-e000-000000000001', project_type: 'e2b', repo_url: origin.url });
  const spawner = manager.spawner(record);
  assert.ok(spawner);

  const messages: SDKMessage[] = [];
  for await (const m of query({
    prompt: 'SCRIPT:write-edit',
    options: {
      cwd: record.path,
      permissionMode: 'acceptEdits',
      pathToClaudeCodeExecutable: '/not/used/on/the/host/claude',
      spawnClaudeCodeProcess: spawner,
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        ANTHROPIC_BASE_URL: model.url,
        ANTHROPIC_API_KEY: 'sk-fake',
        CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
        CLAUDE_CONFIG_DIR: configDir,
      },
    },
  })) {
    messages.push(m);
  }

  const init = messages.find((m) => m.type === 'system' && m.subtype === 'init') as { cwd?: string } | undefined;
  assert.equal(init?.cwd, record.path, 'Claude Code ran in the sandbox workspace');
  const result = messages.find((m) => m.type === 'result') as { subtype?: string; result?: string } | undefined;
  assert.equal(result?.subtype, 'success');
  assert.equal(result?.result, 'Finished script write-edit.');
  assert.equal(fs.readFileSync(path.join(record.path, 'notes.txt'), 'utf8'), 'hello from edit\n');
  assert.ok(standIn.calls.includes('POST /process.Process/SendInput'), 'the SDK wrote to stdin through envd');

  const changes = (await manager.afterTurn(record)) as Record<string, unknown>;
  assert.equal(changes.files_changed, 1);
  assert.deepEqual(changes.files, [{ path: 'notes.txt', added: 1, removed: 0 }]);

  assert.equal((await manager.releaseWith(record, 'delete')).action, 'deleted');
  const sb = standIn.sandboxes.get(record.sandbox_id as string)!;
  assert.equal(sb.alive, false);
  assert.equal(sb.procs.size, 0, 'no process left in the sandbox');
});
