#!/usr/bin/env node
// Builds what `cco serve` runs: the server (src/ -> dist/, JavaScript with source maps,
// plus the SQL migrations and the hook forwarder it reads at run time) and the dashboard
// (web/ -> web/dist). With --if-stale (npm start's prestart, the test runner) each part is
// built only when its output is missing or older than its sources, so a restart costs nothing.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildWeb } from './build-web.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const src = path.join(root, 'src');
const dist = path.join(root, 'dist');
const stamp = path.join(dist, '.build-stamp');
/** Files the compiled code reads or runs next to itself (SQL migrations, the hook forwarder, the turn watchdog): every non-TypeScript file, copied as it is. */
const isAsset = (rel) => !rel.endsWith('.ts');

function walk(dir, rel = '') {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((d) => {
    const r = rel ? `${rel}/${d.name}` : d.name;
    return d.isDirectory() ? walk(path.join(dir, d.name), r) : [r];
  });
}

function newest(files) {
  return Math.max(...files.map((f) => fs.statSync(f).mtimeMs));
}

export function serverIsStale() {
  if (!fs.existsSync(stamp)) return true;
  const inputs = [...walk(src).map((f) => path.join(src, f)), path.join(root, 'tsconfig.json'), path.join(root, 'tsconfig.build.json')];
  return newest(inputs) > fs.statSync(stamp).mtimeMs;
}

export function buildServer({ ifStale = false, quiet = false } = {}) {
  if (ifStale && !serverIsStale()) return false;
  const started = Date.now();
  let tsc;
  try {
    tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  } catch {
    throw new Error('build: TypeScript is not installed (npm install without dev dependencies?). Run `npm install`, then `npm run build`.');
  }
  // The old output goes first: a source file that was removed must not live on in dist/.
  fs.rmSync(dist, { recursive: true, force: true });
  const r = spawnSync(process.execPath, [tsc, '-p', path.join(root, 'tsconfig.build.json')], { stdio: 'inherit', cwd: root });
  if (r.status !== 0) throw new Error('build: the TypeScript compiler reported errors (above)');
  for (const rel of walk(src).filter(isAsset)) {
    fs.mkdirSync(path.dirname(path.join(dist, rel)), { recursive: true });
    fs.copyFileSync(path.join(src, rel), path.join(dist, rel));
  }
  fs.writeFileSync(stamp, `${new Date().toISOString()}\n`);
  if (!quiet) console.log(`build: server compiled into dist/ in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return true;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const ifStale = process.argv.includes('--if-stale');
  const quiet = process.argv.includes('--quiet');
  try {
    buildServer({ ifStale, quiet });
    await buildWeb({ ifStale, quiet });
  } catch (e) {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
  }
}
