import assert from 'node:assert/strict';
import fs from 'node:fs';
import { test } from 'node:test';
import { bwrapCommand, resolveIsolation } from './isolation.ts';

test('ISOLATION: off is off; bwrap refuses a host that cannot isolate; auto falls back and says so', () => {
  const works = () => undefined;
  const broken = () => 'bubblewrap (bwrap) is not installed';
  assert.equal(resolveIsolation('off', works).mode, 'off');
  assert.equal(resolveIsolation('auto', works).mode, 'bwrap');
  assert.equal(resolveIsolation('bwrap', works).mode, 'bwrap');
  assert.throws(() => resolveIsolation('bwrap', broken), /ISOLATION=bwrap, but bubblewrap \(bwrap\) is not installed/);
  const auto = resolveIsolation('auto', broken);
  assert.equal(auto.mode, 'off');
  assert.match(auto.detail, /^NOT ISOLATED: bubblewrap \(bwrap\) is not installed/);
});

test('the sandbox starts empty, binds the workspace last, and hides server folders that lie in system folders', () => {
  const [cmd, args] = bwrapCommand({
    cwd: '/srv/ws/session-1',
    env: { HOME: '/root', CLAUDE_CONFIG_DIR: '/tmp/cco-isolation-unit-config' },
    command: '/usr/bin/true',
    args: ['--flag'],
    hidden: ['/etc', '/srv/data'],
  });
  assert.equal(cmd, 'bwrap');
  const line = args.join(' ');
  assert.ok(line.startsWith('--unshare-pid --unshare-ipc --die-with-parent --tmpfs / '), line);
  assert.match(line, /--proc \/proc/);
  assert.match(line, /--tmpfs \/etc /, 'a hidden folder under a system folder is covered');
  assert.doesNotMatch(line, /\/srv\/data/, 'a hidden folder outside the allow-list needs nothing: it is not there');
  assert.match(line, /--tmpfs \/root .*--bind \/tmp\/cco-isolation-unit-config \/tmp\/cco-isolation-unit-config/);
  fs.rmSync('/tmp/cco-isolation-unit-config', { recursive: true, force: true });
  assert.ok(line.endsWith('--bind /srv/ws/session-1 /srv/ws/session-1 --chdir /srv/ws/session-1 -- /usr/bin/true --flag'), line);
});
