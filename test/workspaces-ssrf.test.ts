/**
 * Issue 9, point 20: repository URLs that lead to loopback, private or
 * link-local addresses (directly, through DNS, or through a redirect) are
 * refused before git connects, unless ALLOW_PRIVATE_GIT_HOSTS lists them.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import { after, before, describe, test } from 'node:test';
import { loadConfig, type WorkspacesConfig } from '../src/config.ts';
import { createLogger } from '../src/logger.ts';
import { WorkspaceManager } from '../src/workspaces/manager.ts';
import { checkRemoteTarget, isPrivateAddress } from '../src/workspaces/remote-target.ts';
import { tempRoot, testWorkspacesConfig } from './helpers/git-repos.ts';

const silent = createLogger('silent', { pretty: false });
let root: string;
let n = 0;
const sid = () => `00000000-0000-4000-b000-${String(++n).padStart(12, '0')}`;

/** A plain HTTP server that counts requests; optionally answers every request with a redirect. */
async function countingServer(host: string, redirectTo?: string) {
  const hits: string[] = [];
  const server = http.createServer((req, res) => {
    hits.push(req.url ?? '');
    if (redirectTo) {
      res.writeHead(302, { location: `${redirectTo}${req.url ?? ''}` });
      res.end();
    } else {
      res.writeHead(404);
      res.end('no');
    }
  });
  await new Promise<void>((r) => server.listen(0, host, r));
  return {
    url: `http://${host}:${(server.address() as { port: number }).port}`,
    hits,
    close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
}

function manager(allowPrivateHosts: string[]): WorkspaceManager {
  const cfg: WorkspacesConfig = testWorkspacesConfig(root);
  return new WorkspaceManager({ ...cfg, git: { ...cfg.git, allowPrivateHosts, cloneTimeoutMs: 20_000 } }, silent);
}

before(() => {
  root = tempRoot();
});
after(() => fs.rmSync(root, { recursive: true, force: true }));

describe('private targets are refused', () => {
  const urls = [
    'http://169.254.169.254/latest/meta-data/iam.git',
    'http://127.0.0.1:9/x.git',
    'https://10.0.0.1/x.git',
    'http://172.16.5.4/x.git',
    'http://192.168.1.1/x.git',
    'http://100.64.0.1/x.git',
    'http://0.0.0.0/x.git',
    // Written without "::", which the URL check refuses outright (it reads like a transport helper).
    'http://[0:0:0:0:0:0:0:1]/x.git',
    'http://[fd00:0:0:0:0:0:0:1]/x.git',
    'http://[fe80:0:0:0:0:0:0:1]/x.git',
    'http://[0:0:0:0:0:ffff:a9fe:a9fe]/x.git',
    'http://2130706433/x.git',
    'http://0x7f.1/x.git',
    'http://localhost:9/x.git',
    'ssh://git@127.0.0.1/x.git',
    'ssh://git@2130706433/x.git',
    'git@127.0.0.1:x.git',
    'git://10.1.2.3/x.git',
  ];
  for (const url of urls) {
    test(url, async () => {
      const m = manager([]);
      for (const req of [{ project_type: 'github' as const, repo_url: url }, { project_type: 'worktree' as const, base_repo: url }]) {
        await assert.rejects(m.prepare({ sessionId: sid(), ...req }), (e: { statusCode?: number; code?: string }) => {
          assert.equal(e.statusCode, 400);
          assert.equal(e.code, 'repo_url_private', `${req.project_type}: ${String(e.code)}`);
          return true;
        });
      }
    });
  }

  test('a refused URL never reaches the server, and the allow-list lets it through', async () => {
    const s = await countingServer('127.0.0.1');
    try {
      await assert.rejects(manager([]).prepare({ sessionId: sid(), project_type: 'github', repo_url: `${s.url}/x.git` }), { code: 'repo_url_private' });
      assert.equal(s.hits.length, 0);
      for (const allow of [['127.0.0.1'], ['127.0.0.0/8'], ['localhost']]) {
        const url = allow[0] === 'localhost' ? s.url.replace('127.0.0.1', 'localhost') : s.url;
        const before = s.hits.length;
        await assert.rejects(manager(allow).prepare({ sessionId: sid(), project_type: 'github', repo_url: `${url}/x.git` }), { code: 'clone_failed' });
        assert.ok(s.hits.length > before, `${allow[0]}: git reached the allowed server`);
      }
    } finally {
      await s.close();
    }
  });

  test('a redirect from an allowed host to another address is not followed', async () => {
    const target = await countingServer('127.0.0.2');
    const redirector = await countingServer('127.0.0.1', target.url);
    try {
      await assert.rejects(manager(['127.0.0.1']).prepare({ sessionId: sid(), project_type: 'github', repo_url: `${redirector.url}/x.git` }), { code: 'clone_failed' });
      assert.ok(redirector.hits.length > 0);
      assert.deepEqual(target.hits, [], 'git followed the redirect');
    } finally {
      await redirector.close();
      await target.close();
    }
  });

  test('a name that resolves to a private address is refused; http is pinned to the checked addresses', async () => {
    const resolveTo = (addrs: string[]) => async () => addrs;
    await assert.rejects(checkRemoteTarget('https://git.example.com/x.git', [], resolveTo(['93.184.216.34', '10.0.0.7'])), { code: 'repo_url_private' });
    const pins = await checkRemoteTarget('https://git.example.com/x.git', [], resolveTo(['93.184.216.34', '2606:2800:220:1::1']));
    assert.deepEqual(pins, [['http.curloptResolve', 'git.example.com:443:93.184.216.34,[2606:2800:220:1::1]']]);
    await assert.rejects(checkRemoteTarget('https://nowhere.invalid/x.git', [], async () => { throw new Error('ENOTFOUND'); }), { code: 'repo_host_unresolvable' });
    assert.deepEqual(await checkRemoteTarget('ssh://git@github.example/x.git', [], resolveTo(['140.82.112.3'])), []);
  });

  test('address classes', () => {
    for (const a of ['127.0.0.1', '10.1.1.1', '172.31.255.255', '192.168.0.1', '169.254.169.254', '100.127.0.1', '0.0.0.0', '::1', '::', 'fd12::1', 'fe80::1', '::ffff:10.0.0.1', '64:ff9b::a00:1', '224.0.0.1', '255.255.255.255']) {
      assert.ok(isPrivateAddress(a), a);
    }
    for (const a of ['93.184.216.34', '140.82.112.3', '2606:2800:220:1::1', '172.32.0.1', '100.128.0.1']) assert.ok(!isPrivateAddress(a), a);
  });

  test('ALLOW_PRIVATE_GIT_HOSTS is parsed from the environment; unset allows nothing', () => {
    assert.deepEqual(loadConfig({}).workspaces.git.allowPrivateHosts, []);
    assert.deepEqual(loadConfig({ ALLOW_PRIVATE_GIT_HOSTS: '127.0.0.1, git.internal ,10.0.0.0/8' }).workspaces.git.allowPrivateHosts, ['127.0.0.1', 'git.internal', '10.0.0.0/8']);
  });
});
