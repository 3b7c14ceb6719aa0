#!/usr/bin/env node
// Builds the dashboard (web/ -> web/dist) with Vite. With --if-stale (npm start's
// prestart) it builds only when web/dist is missing or older than its sources,
// so a fresh clone gets a dashboard and a restart costs nothing. No network is used.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const web = path.join(root, 'web');
const built = path.join(web, 'dist', 'index.html');

function newestMtime(p) {
  const st = fs.statSync(p);
  if (!st.isDirectory()) return st.mtimeMs;
  return fs.readdirSync(p).reduce((m, name) => Math.max(m, newestMtime(path.join(p, name))), st.mtimeMs);
}

export function webIsStale() {
  if (!fs.existsSync(built)) return true;
  const sources = [path.join(web, 'src'), path.join(web, 'index.html'), path.join(web, 'vite.config.ts')];
  return Math.max(...sources.map(newestMtime)) > fs.statSync(built).mtimeMs;
}

export async function buildWeb({ ifStale = false, quiet = false } = {}) {
  if (ifStale && !webIsStale()) return false;
  let vite;
  try {
    vite = await import('vite');
  } catch {
    if (fs.existsSync(built)) {
      console.warn('build-web: vite is not installed (npm install without dev dependencies?); serving the existing, older web/dist.');
      return false;
    }
    throw new Error('build-web: the dashboard is not built and vite is not installed. Run `npm install` (with dev dependencies), then `npm run build:web`.');
  }
  const started = Date.now();
  await vite.build({ configFile: path.join(web, 'vite.config.ts'), root: web, logLevel: quiet ? 'error' : 'warn', mode: 'production' });
  if (!quiet) console.log(`build-web: dashboard built into web/dist in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return true;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  buildWeb({ ifStale: process.argv.includes('--if-stale') }).catch((e) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
  });
}
