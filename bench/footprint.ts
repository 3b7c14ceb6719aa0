/**
 * `npm run bench:footprint`: what a freshly started `cco serve` costs, per backend (the embedded
 * default and a PostgreSQL server): idle memory as PSS summed over the server and every process
 * it started (the embedded PostgreSQL), the server process's own RSS, the time from spawning
 * `cco serve` to `/api/health` answering (cold: empty data folder; warm: restart on it), and the
 * size of the installed production package. Runs the compiled server (`npm run build` first).
 *
 *   npm run bench:footprint -- [--runs 5] [--settle-ms 10000] [--skip-package] [--out bench/results]
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import pg from 'pg';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const BIN = path.join(ROOT, 'bin', 'cco.mjs');
const ADMIN_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
type Backend = 'embedded' | 'postgres';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '5' },
    'settle-ms': { type: 'string', default: '10000' },
    'skip-package': { type: 'boolean', default: false },
    out: { type: 'string', default: path.join(ROOT, 'bench', 'results') },
  },
});
const runs = Number(values.runs);
const settleMs = Number(values['settle-ms']);
if (!Number.isInteger(runs) || runs < 1 || !Number.isFinite(settleMs) || settleMs < 0) throw new Error('--runs must be a positive integer and --settle-ms a number of ms');

function descendants(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const e of fs.readdirSync('/proc').filter((x) => /^\d+$/.test(x))) {
    try {
      const ppid = Number(fs.readFileSync(`/proc/${e}/stat`, 'utf8').split(') ')[1]!.split(' ')[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(e)]);
    } catch {
      // gone
    }
  }
  const out: number[] = [];
  const walk = (p: number) => {
    for (const c of children.get(p) ?? []) {
      out.push(c);
      walk(c);
    }
  };
  walk(pid);
  return out;
}

/** MB of `field` in the process's smaps_rollup; 0 for a process that ended meanwhile (a short-lived helper). */
function rollup(pid: number, field: 'Pss' | 'Rss'): number {
  let text: string;
  try {
    text = fs.readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
  } catch {
    return 0;
  }
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text);
  return m ? Number(m[1]) / 1024 : 0;
}

async function untilHealthy(url: string, child: ChildProcess, started: number): Promise<number> {
  for (;;) {
    if (child.exitCode !== null) throw new Error(`cco serve exited with ${child.exitCode}`);
    try {
      const r = await fetch(`${url}/api/health`);
      if (r.ok) return performance.now() - started;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 5));
  }
}

async function freePort(): Promise<number> {
  const net = await import('node:net');
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

interface Start {
  ms: number;
  pssMb: number;
  serverRssMb: number;
  serverPssMb: number;
  processes: number;
}

async function startOnce(dataDir: string, databaseUrl: string | undefined): Promise<Start> {
  const port = await freePort();
  const started = performance.now();
  const child = spawn(process.execPath, [BIN, 'serve'], {
    cwd: dataDir,
    env: { ...process.env, PORT: String(port), DATA_DIR: path.join(dataDir, 'data'), DATABASE_URL: databaseUrl ?? '', LOG_LEVEL: 'warn', RATE_LIMIT_PER_MIN: '0', RATE_LIMIT_HOOKS_PER_MIN: '0' },
    stdio: 'ignore',
  });
  try {
    const ms = await untilHealthy(`http://127.0.0.1:${port}`, child, started);
    await new Promise((r) => setTimeout(r, settleMs));
    const pids = [child.pid!, ...descendants(child.pid!)];
    return {
      ms,
      pssMb: pids.reduce((sum, p) => sum + rollup(p, 'Pss'), 0),
      serverRssMb: rollup(child.pid!, 'Rss'),
      serverPssMb: rollup(child.pid!, 'Pss'),
      processes: pids.length,
    };
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
  }
}

async function withDatabase<T>(backend: Backend, fn: (url: string | undefined) => Promise<T>): Promise<T> {
  if (backend === 'embedded') return fn(undefined);
  const name = `cco_footprint_${randomBytes(4).toString('hex')}`;
  const admin = async (q: string) => {
    const c = new pg.Client({ connectionString: ADMIN_URL });
    await c.connect();
    await c.query(q).finally(() => c.end());
  };
  await admin(`create database ${name}`);
  try {
    const u = new URL(ADMIN_URL);
    u.pathname = `/${name}`;
    return await fn(u.toString());
  } finally {
    await admin(`drop database if exists ${name} with (force)`);
  }
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

function packageSize(): number {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cco-footprint-pkg-'));
  try {
    const tgz = execFileSync('npm', ['pack', '--silent', '--pack-destination', tmp], { cwd: ROOT, encoding: 'utf8' }).trim().split('\n').pop()!;
    execFileSync('npm', ['install', '--global', '--prefix', path.join(tmp, 'prefix'), '--omit=dev', '--no-fund', '--no-audit', path.join(tmp, tgz)], { stdio: 'ignore' });
    const out = execFileSync('du', ['-sb', path.join(tmp, 'prefix', 'lib', 'node_modules', 'claude-code-orchestrator')], { encoding: 'utf8' });
    return Number(out.split('\t')[0]) / 1024 / 1024;
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

const results: Record<string, unknown> = {
  date: new Date().toISOString(),
  node: process.version,
  cores: os.cpus().length,
  load_before: os.loadavg().map((l) => Number(l.toFixed(2))),
  runs,
  settle_ms: settleMs,
};
const rows: string[] = [];
for (const backend of ['embedded', 'postgres'] as const) {
  const cold: Start[] = [];
  const warm: Start[] = [];
  for (let i = 0; i < runs; i++) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cco-footprint-'));
    try {
      await withDatabase(backend, async (url) => {
        cold.push(await startOnce(dir, url));
        warm.push(await startOnce(dir, url));
      });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
    console.error(`${backend} run ${i + 1}/${runs}: cold ${cold.at(-1)!.ms.toFixed(0)} ms, warm ${warm.at(-1)!.ms.toFixed(0)} ms, idle PSS ${warm.at(-1)!.pssMb.toFixed(1)} MB`);
  }
  const all = [...cold, ...warm];
  const figures = {
    cold_start_ms: median(cold.map((s) => s.ms)),
    warm_start_ms: median(warm.map((s) => s.ms)),
    idle_pss_mb: median(all.map((s) => s.pssMb)),
    idle_pss_max_mb: Math.max(...all.map((s) => s.pssMb)),
    server_rss_mb: median(all.map((s) => s.serverRssMb)),
    server_pss_mb: median(all.map((s) => s.serverPssMb)),
    processes: median(all.map((s) => s.processes)),
  };
  results[backend] = figures;
  rows.push(
    `| ${backend === 'embedded' ? 'embedded PostgreSQL (default)' : 'PostgreSQL server (DATABASE_URL)'} | ${figures.idle_pss_mb.toFixed(1)} (max ${figures.idle_pss_max_mb.toFixed(1)}) | ${figures.server_rss_mb.toFixed(1)} | ${figures.processes} | ${figures.cold_start_ms.toFixed(0)} | ${figures.warm_start_ms.toFixed(0)} |`,
  );
}
if (!values['skip-package']) results.installed_package_mb = packageSize();
results.load_after = os.loadavg().map((l) => Number(l.toFixed(2)));

fs.mkdirSync(values.out!, { recursive: true });
fs.writeFileSync(path.join(values.out!, 'footprint.json'), `${JSON.stringify(results, null, 2)}\n`);
console.log(`bench:footprint ${results.date} node ${process.version}, ${results.cores} cores, load before ${String(results.load_before)} after ${String(results.load_after)}; medians of ${runs} runs`);
console.log('| backend | idle PSS, server + database processes: MB | server process RSS: MB | processes | cold start to /api/health: ms | warm restart: ms |');
console.log('| --- | --- | --- | --- | --- | --- |');
for (const r of rows) console.log(r);
if (results.installed_package_mb !== undefined) console.log(`installed production package: ${(results.installed_package_mb as number).toFixed(1)} MB`);
