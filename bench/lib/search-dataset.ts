/**
 * The bench:api data set (bench/api/seed.ts: 1M messages and 1M logs at scale 1) in a database
 * for bench:search and bench:export, and the real server (`cco serve`, built) on it in a child
 * process, so its memory can be sampled apart from the harness.
 *
 * BENCH_REUSE_URL: a database already seeded by an earlier run (kept afterwards), else a fresh
 * scratch database on TEST_DATABASE_URL's server (postgres backend) or a temp DATA_DIR
 * (embedded), migrated, seeded and removed at the end.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import { loadConfig } from '../../src/config.ts';
import { openDatabase, type Backend } from '../../src/db/database.ts';
import { migrate } from '../../src/db/migrate.ts';
import { datasetFor, seed, type DatasetSize } from '../api/seed.ts';
import { createScratchDb } from './scratch-db.ts';

export interface BenchServer {
  url: string;
  pid: number;
  dataset: DatasetSize & { seeded_s: number | null; reused: boolean };
  close(): Promise<void>;
}

function startServe(env: Record<string, string>): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [path.resolve('bin/cco.mjs'), 'serve'], {
    env: { ...process.env, PORT: '0', HOST: '127.0.0.1', AUTH: 'off', LOG_LEVEL: 'info', RATE_LIMIT_PER_MIN: '0', RATE_LIMIT_HOOKS_PER_MIN: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()).length > 1e6 && (out = out.slice(-1e5)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start: ${out.slice(-2000)}`)), 180_000);
    child.once('exit', (code) => reject(new Error(`server exited with ${code}: ${out.slice(-2000)}`)));
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /"url":"(http:\/\/[^"]+)"/.exec(out);
      if (m) {
        clearTimeout(timer);
        child.stdout!.removeAllListeners('data');
        child.stdout!.resume();
        resolve({ child, url: m[1]! });
      }
    });
  });
}

export async function benchServer(backend: Backend, scale: number, log: (line: string) => void): Promise<BenchServer> {
  const size = datasetFor(scale);
  const reuse = process.env.BENCH_REUSE_URL;
  let env: Record<string, string>;
  let cleanup: () => Promise<void>;
  if (reuse) {
    env = { DATABASE_URL: reuse };
    cleanup = async () => {};
  } else if (backend === 'postgres') {
    const scratch = await createScratchDb('cco_bench_search');
    env = { DATABASE_URL: scratch.url };
    cleanup = () => scratch.drop();
  } else {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cco-bench-search-'));
    env = { DATA_DIR: dir, DATABASE_URL: '' };
    cleanup = async () => fs.rmSync(dir, { recursive: true, force: true });
  }
  let seededS: number | null = null;
  const config = loadConfig({ ...process.env, ...env, LOG_LEVEL: 'silent' });
  const database = await openDatabase(config.db);
  try {
    await migrate(database.db);
    const { rows } = await sql<{ n: string }>`select count(*) as n from session_messages`.execute(database.db);
    if (Number(rows[0]?.n ?? 0) === 0) {
      log(`seeding ${size.sessions} sessions, ${size.messages} messages, ${size.logs} logs`);
      seededS = (await seed(database.db, size)).totalS;
      log(`seeded in ${seededS.toFixed(1)} s`);
    } else log(`reusing the data set in ${reuse ?? 'the database'} (${rows[0]!.n} messages)`);
  } finally {
    await database.close();
  }
  const { child, url } = await startServe(env);
  return {
    url,
    pid: child.pid!,
    dataset: { ...size, seeded_s: seededS, reused: seededS === null },
    async close() {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
      await cleanup();
    },
  };
}
