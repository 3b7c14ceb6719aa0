/**
 * E2B through the real `e2b` SDK against a local stand-in of its API
 * (test/helpers/e2b-standin.ts): sandbox creation from a template, upload of
 * the repository, git inside the sandbox for changes and diffs, the spawner's
 * process (stdin, stdout, exit, kill), reconnection by a new manager, and kill
 * on release. What a stand-in cannot show (real images, networking, quotas) is
 * listed in ARCHITECTURE.md.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { execFileSync } from 'node:child_process';
import { createLogger } from '../src/logger.ts';
import { WorkspaceManager } from '../src/workspaces/manager.ts';
import type { WorkspaceRecord } from '../src/workspaces/port.ts';
import { startE2bStandIn, type E2bStandIn } from './helpers/e2b-standin.ts';
import { makeOrigin, tempRoot, testWorkspacesConfig, type Origin } from './helpers/git-repos.ts';

let root: string;
let origin: Origin;
let standIn: E2bStandIn;
let n = 0;
const sid = () => `00000000-0000-4000-b000-${String(++n).padStart(12, '0')}`;
const silent = createLogger('silent', { pretty: false });

function config(over: Partial<ReturnType<typeof testWorkspacesConfig>['e2b']> = {}) {
  const c = testWorkspacesConfig(root);
  return { ...c, e2b: { ...c.e2b, apiKey: standIn.apiKey, apiUrl: standIn.url, sandboxUrl: standIn.url, template: 'cco-test', workdir: path.join(root, 'sandbox-fs'), ...over } };
}

before(async () => {
  root = tempRoot();
  origin = makeOrigin(root);
  standIn = await startE2bStandIn();
});
after(async () => {
  await standIn.close();
  fs.rmSync(root, { recursive: true, force: true });
});

describe('e2b', () => {
  test('create from the template, bring the repo in, measure changes inside, keep brings the work back and kills the sandbox', async () => {
    const m = new WorkspaceManager(config(), silent);
    const r = await m.prepare({ sessionId: sid(), project_type: 'e2b', repo_url: origin.url, ref: 'feature', cleanup: 'keep' });
    const sb = standIn.sandboxes.get(r.sandbox_id as string);
    assert.ok(sb?.alive);
    assert.equal(sb.template, 'cco-test');
    assert.equal(sb.metadata.cco_session_id, r.session_id);
    assert.equal(r.base_commit, origin.featureCommit);
    assert.equal(r.branch, 'feature');
    assert.ok(fs.existsSync(path.join(r.path, 'feature.txt')), 'the repository is unpacked in the sandbox folder');
    assert.equal(fs.readdirSync(path.join(root, 'workspaces', 'e2b')).length, 0, 'the host staging clone is gone');

    assert.equal(sb.timeoutSeconds, 600, 'created with E2B_TIMEOUT_MS');
    sb.timeoutSeconds = undefined;
    fs.writeFileSync(path.join(r.path, 'sandbox-work.txt'), 'from the sandbox\n');
    const c = (await m.afterTurn(r)) as Record<string, unknown>;
    assert.equal(sb.timeoutSeconds, 600, 'a turn extends the sandbox lifetime');
    assert.equal(c.files_changed, 1);
    assert.equal(c.branch, 'feature');
    assert.match((await m.diff(r)).diff, /\+from the sandbox/);
    assert.ok(((await m.diskUsage(r)) ?? 0) > 0);

    // A restarted server knows the sandbox only by its id.
    const restarted = new WorkspaceManager(config(), silent);
    assert.equal(((await restarted.afterTurn(r)) as Record<string, unknown>).files_changed, 1);
    assert.ok(standIn.calls.includes('POST /v2/sandboxes/' + String(r.sandbox_id) + '/connect'));

    const out = await restarted.releaseWith(r, 'keep');
    assert.equal(out.action, 'kept');
    const kept = (out as { path: string }).path;
    assert.equal(fs.readFileSync(path.join(kept, 'sandbox-work.txt'), 'utf8'), 'from the sandbox\n');
    assert.equal(execFileSync('git', ['rev-parse', 'HEAD'], { cwd: kept, encoding: 'utf8' }).trim(), origin.featureCommit);
    assert.equal(sb.alive, false, 'the sandbox was killed');
    assert.equal(((await m.afterTurn(r)) as Record<string, unknown>).error, 'workspace_gone');

    // gc-style delete later removes the kept copy.
    assert.equal((await restarted.releaseWith(r, 'delete')).action, 'deleted');
    assert.ok(!fs.existsSync(kept));
  });

  test('archive stores the sandbox folder as tar.gz; delete brings nothing back', async () => {
    const m = new WorkspaceManager(config(), silent);
    const a = await m.prepare({ sessionId: sid(), project_type: 'e2b', repo_url: origin.url });
    fs.writeFileSync(path.join(a.path, 'a.txt'), 'a\n');
    const out = await m.releaseWith(a, 'archive');
    assert.equal(out.action, 'archived');
    assert.match(execFileSync('tar', ['-tzf', (out as { archive: string }).archive], { encoding: 'utf8' }), /a\.txt/);
    assert.equal(standIn.sandboxes.get(a.sandbox_id as string)?.alive, false);

    const d = await m.prepare({ sessionId: sid(), project_type: 'e2b' });
    assert.equal(d.base_commit, null, 'no repository: an empty folder');
    assert.equal((await m.releaseWith(d, 'delete')).action, 'deleted');
    assert.equal(standIn.sandboxes.get(d.sandbox_id as string)?.alive, false);
  });

  test('refusals: no API key is a 400, a wrong key a 502, and no sandbox is left running', async () => {
    await assert.rejects(new WorkspaceManager(config({ apiKey: undefined }), silent).prepare({ sessionId: sid(), project_type: 'e2b' }), { statusCode: 400, code: 'e2b_not_configured' });
    const running = [...standIn.sandboxes.values()].filter((s) => s.alive).length;
    await assert.rejects(new WorkspaceManager(config({ apiKey: 'wrong-key' }), silent).prepare({ sessionId: sid(), project_type: 'e2b' }), (e: Error & { statusCode?: number; code?: string }) => {
      assert.equal(e.statusCode, 502);
      assert.equal(e.code, 'e2b_unavailable');
      assert.ok(!e.message.includes('wrong-key'));
      return true;
    });
    assert.equal([...standIn.sandboxes.values()].filter((s) => s.alive).length, running);
  });

  test('the spawner runs the command in the sandbox: stdin in, stdout out, exit code, filtered env', async () => {
    const m = new WorkspaceManager(config({ claudeCommand: process.execPath }), silent);
    const r: WorkspaceRecord = await m.prepare({ sessionId: sid(), project_type: 'e2b' });
    const spawn = m.spawner(r);
    assert.ok(spawn);
    const script = [
      "process.stdout.write(JSON.stringify({ cwd: process.cwd(), keys: Object.keys(process.env) }) + '\\n');",
      "let buf = ''; process.stdin.on('data', (d) => { buf += d; });",
      "process.stdin.on('end', () => { process.stdout.write(buf.toUpperCase()); process.exit(3); });",
    ].join('\n');
    const ac = new AbortController();
    const proc = spawn({
      command: '/host/path/to/claude', // replaced by E2B_CLAUDE_COMMAND in the sandbox
      args: ['-e', script],
      cwd: '/host/cwd/ignored',
      env: { ANTHROPIC_API_KEY: 'sk-fake', CLAUDE_CONFIG_DIR: '/tmp/x', DATABASE_URL: 'postgres://secret@db/x', GIT_CREDENTIALS: 'https://u:t@h', PATH: '/usr/bin' },
      signal: ac.signal,
    });
    let out = '';
    proc.stdout.on('data', (d: Buffer | string) => (out += String(d)));
    const exited = new Promise<[number | null, NodeJS.Signals | null]>((resolve) => proc.on('exit', (c, s) => resolve([c, s])));
    proc.stdin.write('hello ');
    proc.stdin.write('sandbox\n');
    proc.stdin.end();
    const [code] = await exited;
    assert.equal(code, 3);
    assert.equal(proc.exitCode, 3);
    const first = JSON.parse(out.split('\n')[0]!) as { cwd: string; keys: string[] };
    assert.equal(first.cwd, r.path);
    assert.ok(first.keys.includes('ANTHROPIC_API_KEY') && first.keys.includes('CLAUDE_CONFIG_DIR'));
    assert.ok(!first.keys.includes('DATABASE_URL') && !first.keys.includes('GIT_CREDENTIALS'), 'server secrets stay out of the sandbox');
    assert.match(out, /HELLO SANDBOX/);
    await m.releaseWith(r, 'delete');
  });

  test('kill() ends a hanging command and reports the signal', async () => {
    const m = new WorkspaceManager(config({ claudeCommand: process.execPath }), silent);
    const r = await m.prepare({ sessionId: sid(), project_type: 'e2b' });
    const proc = m.spawner(r)!({ command: 'claude', args: ['-e', 'setInterval(() => {}, 1000)'], env: {}, signal: new AbortController().signal });
    const exited = new Promise<[number | null, NodeJS.Signals | null]>((resolve) => proc.on('exit', (c, s) => resolve([c, s])));
    await new Promise((res) => setTimeout(res, 300));
    assert.equal(proc.kill('SIGTERM'), true);
    assert.deepEqual(await exited, [null, 'SIGTERM']);
    assert.equal(proc.killed, true);
    await m.releaseWith(r, 'delete');
  });
});
