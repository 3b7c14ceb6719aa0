/**
 * Brings the two things `npm run test:n8n` needs: n8n itself (installed once per version into a
 * cache outside the repository, ~2.7 GB, so a second CI run skips the ~3 minutes) and the
 * community node package, built, linted and packed from packages/n8n-nodes-claude-code-orchestrator.
 * README "n8n" says how to run it and what it costs.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const N8N_VERSION = process.env.CCO_N8N_VERSION ?? '2.41.1';
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const PACKAGE_DIR = path.join(ROOT, 'packages', 'n8n-nodes-claude-code-orchestrator');
export const PACKAGE_NAME = 'n8n-nodes-claude-code-orchestrator';

function cacheRoot(): string {
  return process.env.CCO_N8N_CACHE ?? path.join(process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache'), 'cco-n8n');
}

function run(cmd: string, args: string[], opts: { cwd: string; env?: NodeJS.ProcessEnv }): string {
  const r = spawnSync(cmd, args, { cwd: opts.cwd, env: { ...process.env, ...opts.env }, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (r.status !== 0) {
    throw new Error(`${cmd} ${args.join(' ')} (in ${opts.cwd}) exited with ${r.status ?? r.signal}:\n${(r.stdout ?? '').slice(-3000)}\n${(r.stderr ?? '').slice(-3000)}`);
  }
  return r.stdout;
}

export interface N8nInstall {
  dir: string;
  /** The n8n CLI script, run with this Node (24). */
  bin: string;
  /** Its node_modules, for the peer dependency the community package needs (n8n-workflow). */
  nodeModules: string;
  cached: boolean;
  seconds: number;
}

/**
 * n8n from the npm registry: `--ignore-scripts`, because one optional native module's failed
 * build (kafka) aborts a plain install, then only the two native modules n8n needs are rebuilt,
 * against Node 24's headers (the machine's npmrc may point node-gyp at another Node's).
 * A `.complete` marker is written last, so a half-finished install is redone, not used.
 */
export function ensureN8n(log: (line: string) => void): N8nInstall {
  const t0 = Date.now();
  const dir = path.join(cacheRoot(), N8N_VERSION);
  const nodeModules = path.join(dir, 'node_modules');
  const bin = path.join(nodeModules, 'n8n', 'bin', 'n8n');
  const marker = path.join(dir, '.complete');
  if (fs.existsSync(marker) && fs.existsSync(bin)) return { dir, bin, nodeModules, cached: true, seconds: (Date.now() - t0) / 1000 };
  log(`installing n8n ${N8N_VERSION} into ${dir} (cold: about 3 minutes, 2.7 GB)`);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'cco-n8n-cache', private: true, dependencies: { n8n: N8N_VERSION } }, null, 2));
  run('npm', ['install', '--ignore-scripts', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: dir });
  const nodeDir = path.dirname(path.dirname(process.execPath));
  run('npm', ['rebuild', 'sqlite3', 'isolated-vm'], { cwd: dir, env: { npm_config_nodedir: nodeDir } });
  fs.writeFileSync(marker, `${new Date().toISOString()} node ${process.version}\n`);
  return { dir, bin, nodeModules, cached: false, seconds: (Date.now() - t0) / 1000 };
}

export interface NodePackage {
  tarball: string;
  seconds: { install: number; lint: number; build: number; pack: number };
}

/** Installs the package's own devDependencies (its lockfile), lints with n8n's node CLI, builds and packs it. */
export function buildNodePackage(outDir: string, log: (line: string) => void): NodePackage {
  const time = (f: () => void) => {
    const t = Date.now();
    f();
    return (Date.now() - t) / 1000;
  };
  const lock = path.join(PACKAGE_DIR, 'package-lock.json');
  const installed = path.join(PACKAGE_DIR, 'node_modules', '.package-lock.json');
  const stale = !fs.existsSync(installed) || fs.statSync(installed).mtimeMs < fs.statSync(lock).mtimeMs;
  const install = stale
    ? time(() => {
        log('installing the node package devDependencies (npm ci)');
        // --ignore-scripts: eslint-plugin-n8n-nodes-base's preinstall (`npx only-allow pnpm`) fails under npm, and no devDependency needs a script.
        run('npm', ['ci', '--ignore-scripts', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: PACKAGE_DIR });
      })
    : 0;
  const lint = time(() => run('npm', ['run', '--silent', 'lint'], { cwd: PACKAGE_DIR }));
  const build = time(() => run('npm', ['run', '--silent', 'build'], { cwd: PACKAGE_DIR }));
  let tarball = '';
  const pack = time(() => {
    const out = run('npm', ['pack', '--silent', '--pack-destination', outDir], { cwd: PACKAGE_DIR });
    tarball = path.join(outDir, out.trim().split('\n').at(-1)!);
  });
  return { tarball, seconds: { install, lint, build, pack } };
}

/**
 * Installs the packed tarball the way n8n's community-packages module finds it:
 * <user folder>/.n8n/nodes/node_modules/<name>, with n8n-workflow (its peer dependency) beside it,
 * as npm would place a peer. Nothing is fetched: n8n loads it at start like an installed package.
 */
export function installIntoUserFolder(tarball: string, userFolder: string, n8nNodeModules: string): string {
  const nodesDir = path.join(userFolder, '.n8n', 'nodes');
  const target = path.join(nodesDir, 'node_modules', PACKAGE_NAME);
  fs.mkdirSync(target, { recursive: true });
  run('tar', ['xzf', tarball, '-C', target, '--strip-components=1'], { cwd: nodesDir });
  fs.symlinkSync(path.join(n8nNodeModules, 'n8n-workflow'), path.join(nodesDir, 'node_modules', 'n8n-workflow'));
  fs.writeFileSync(path.join(nodesDir, 'package.json'), JSON.stringify({ name: 'installed-nodes', private: true, dependencies: { [PACKAGE_NAME]: `file:${tarball}` } }, null, 2));
  return target;
}
