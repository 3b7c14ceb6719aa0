/** `cco hooks install/uninstall/status` run as a subprocess against temporary settings files. */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { HOOK_EVENTS } from '../src/hooks/events.ts';
import { addForwarder, findForwarder, removeForwarder } from '../src/hooks/settings-merge.ts';

const exec = promisify(execFile);
const CCO = path.resolve('bin/cco.mjs');
let tmp: string;
let env: NodeJS.ProcessEnv;

before(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cco-installer-'));
  env = { PATH: process.env.PATH, HOME: tmp, CCO_HOME: path.join(tmp, 'cco-home'), CLAUDE_CONFIG_DIR: path.join(tmp, 'claude'), LOG_LEVEL: 'silent' };
});
after(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

async function cco(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await exec(process.execPath, [CCO, ...args], { env, cwd: tmp });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e: unknown) {
    const x = e as { code: number; stdout: string; stderr: string };
    return { code: x.code, stdout: x.stdout, stderr: x.stderr };
  }
}

/** A settings file someone already uses: other keys, and hooks of their own on two of our events. */
const EXISTING = {
  model: 'claude-opus-5-5',
  permissions: { allow: ['Bash(git *)'], deny: ['Read(./.env)'] },
  env: { FOO: 'bar' },
  hooks: {
    PreToolUse: [{ matcher: 'Write|Edit', hooks: [{ type: 'command', command: './lint.sh', timeout: 30 }] }],
    PostToolUse: [{ matcher: 'Bash', hooks: [{ type: 'command', command: 'echo audit >> /tmp/audit.log' }] }],
    Stop: [{ hooks: [{ type: 'http', url: 'https://hooks.example.com/stop' }] }],
  },
};

const backups = (dir: string) => fs.readdirSync(dir).filter((f) => f.includes('.cco-backup-'));

describe('cco hooks install / uninstall', () => {
  test('merges into an existing project file, keeps everything else, writes a backup; twice changes nothing; uninstall restores', async () => {
    const proj = path.join(tmp, 'proj');
    const file = path.join(proj, '.claude', 'settings.json');
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const original = `${JSON.stringify(EXISTING, null, 4)}\n`;
    fs.writeFileSync(file, original);

    const first = await cco('hooks', 'install', '--no-token', '--project', proj, '--url', 'http://127.0.0.1:4999/');
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, /Installed the orchestrator hooks/);
    const installed = JSON.parse(fs.readFileSync(file, 'utf8'));
    // Every other setting and hook kept exactly, ours appended after theirs.
    assert.deepEqual(installed.model, EXISTING.model);
    assert.deepEqual(installed.permissions, EXISTING.permissions);
    assert.deepEqual(installed.env, EXISTING.env);
    assert.deepEqual(installed.hooks.PreToolUse, EXISTING.hooks.PreToolUse);
    assert.deepEqual(installed.hooks.PostToolUse[0], EXISTING.hooks.PostToolUse[0]);
    assert.deepEqual(installed.hooks.Stop[0], EXISTING.hooks.Stop[0]);
    const ours = findForwarder(installed);
    assert.deepEqual(ours.map((o) => o.event).sort(), [...HOOK_EVENTS].sort());
    assert.ok(ours.every((o) => o.url === 'http://127.0.0.1:4999' && o.spoolDir === path.join(tmp, 'cco-home', 'spool')));
    assert.match(ours[0]!.command, /cco-home\/bin\/cco-hook\.sh/);
    assert.ok(fs.statSync(path.join(tmp, 'cco-home', 'bin', 'cco-hook.sh')).mode & 0o100, 'forwarder is executable');
    const [backup] = backups(path.dirname(file));
    assert.ok(backup, 'backup written');
    assert.equal(fs.readFileSync(path.join(path.dirname(file), backup), 'utf8'), original, 'backup holds the previous bytes');

    const bytes = fs.readFileSync(file, 'utf8');
    const mtime = fs.statSync(file).mtimeMs;
    const second = await cco('hooks', 'install', '--no-token', '--project', proj);
    assert.equal(second.code, 0);
    assert.match(second.stdout, /Already installed/);
    assert.equal(fs.readFileSync(file, 'utf8'), bytes, 'second install: same bytes');
    assert.equal(fs.statSync(file).mtimeMs, mtime, 'second install: not rewritten');
    assert.equal(backups(path.dirname(file)).length, 1, 'no second backup');
    assert.match(second.stdout, /Server: http:\/\/127\.0\.0\.1:4999/, 'the installed URL is kept without --url');

    const status = await cco('hooks', 'status', '--project', proj);
    assert.match(status.stdout, /project: .*9\/9 events/);
    assert.match(status.stdout, /user: .*not installed/);
    assert.match(status.stdout, /server: http:\/\/127\.0\.0\.1:4999: does not answer/);
    assert.doesNotMatch(status.stdout, /warning/);
    // A second, different forwarder for the user: both would run for every event.
    await cco('hooks', 'install', '--no-token', '--user', '--url', 'http://127.0.0.1:4998');
    const both = await cco('hooks', 'status', '--project', proj);
    assert.match(both.stdout, /warning: installed for the user and for the project with different commands/);
    await cco('hooks', 'uninstall', '--user');

    const removed = await cco('hooks', 'uninstall', '--project', proj);
    assert.equal(removed.code, 0);
    assert.match(removed.stdout, /Removed 9 orchestrator hook/);
    assert.deepEqual(JSON.parse(fs.readFileSync(file, 'utf8')), EXISTING, 'uninstall leaves exactly what was there');
    const again = await cco('hooks', 'uninstall', '--project', proj);
    assert.match(again.stdout, /nothing changed/);
  });

  test('a new URL replaces our hooks in place instead of adding a second set', async () => {
    const file = path.join(tmp, 'claude', 'settings.json');
    assert.equal((await cco('hooks', 'install', '--no-token', '--user', '--url', 'http://a.example:3000')).code, 0);
    assert.equal((await cco('hooks', 'install', '--no-token', '--url', 'http://b.example:3000')).code, 0);
    const s = JSON.parse(fs.readFileSync(file, 'utf8'));
    const ours = findForwarder(s);
    assert.equal(ours.length, HOOK_EVENTS.length);
    assert.ok(ours.every((o) => o.url === 'http://b.example:3000'));
    assert.equal((await cco('hooks', 'uninstall')).code, 0);
    assert.deepEqual(JSON.parse(fs.readFileSync(file, 'utf8')), {}, 'a file we created ends empty');
  });

  test('a settings file that is not valid JSON is left untouched with a clear error', async () => {
    const proj = path.join(tmp, 'broken');
    const file = path.join(proj, '.claude', 'settings.json');
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const broken = '{"model": "x", // a comment\n  "hooks": {}\n';
    fs.writeFileSync(file, broken);
    for (const cmd of ['install', 'uninstall']) {
      const r = await cco('hooks', cmd, '--project', proj);
      assert.notEqual(r.code, 0, cmd);
      assert.match(r.stderr, /is not valid JSON .*left untouched/, cmd);
      assert.equal(fs.readFileSync(file, 'utf8'), broken, `${cmd}: bytes unchanged`);
      assert.deepEqual(backups(path.dirname(file)), []);
    }
    fs.writeFileSync(file, '{"hooks": []}');
    const shape = await cco('hooks', 'install', '--no-token', '--project', proj);
    assert.notEqual(shape.code, 0);
    assert.match(shape.stderr, /"hooks" in the settings file is not an object/);
    assert.equal(fs.readFileSync(file, 'utf8'), '{"hooks": []}');
  });

  test('--user and --project together are refused', async () => {
    const r = await cco('hooks', 'install', '--no-token', '--user', '--project', tmp);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /cannot be used with/);
  });
});

describe('settings merge (pure)', () => {
  const spec = { shell: 'sh', scriptPath: "/opt/it's here/cco-hook.sh", url: 'http://x:1', spoolDir: '/var/spool/cco' };

  test('quotes paths for sh and parses them back', () => {
    const s = addForwarder({}, spec);
    const found = findForwarder(s);
    assert.equal(found.length, HOOK_EVENTS.length);
    assert.equal(found[0]!.url, 'http://x:1');
    assert.equal(found[0]!.spoolDir, '/var/spool/cco');
    assert.match(found[0]!.command, /^exec sh '\/opt\/it'\\''s here\/cco-hook\.sh' /);
  });

  test('our hook sharing a group with a foreign hook: only ours is removed, and re-adding does not duplicate', () => {
    const foreign = { type: 'command', command: 'notify-send done' };
    const withOurs = addForwarder({}, spec);
    const stop = withOurs.hooks as Record<string, Array<{ hooks: unknown[] }>>;
    stop.Stop![0]!.hooks.push(foreign);
    const readded = addForwarder(withOurs, spec);
    assert.equal(findForwarder(readded).filter((f) => f.event === 'Stop').length, 1);
    const removed = removeForwarder(readded) as { hooks: Record<string, Array<{ hooks: unknown[] }>> };
    assert.deepEqual(removed.hooks, { Stop: [{ hooks: [foreign] }] });
  });
});
