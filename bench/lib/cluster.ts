/**
 * A scaled-out orchestrator on this machine, shared by test:chaos, bench:scale and bench:soak:
 * N `cco serve --role api` and M `cco serve --role runner` processes over one PostgreSQL
 * database, with one WORKSPACES_DIR and one CLAUDE_CONFIG_DIR, each on its own fixed port (a
 * restarted process comes back at the same address). Layout `single` is one role-all process
 * instead: what exists before the roles land, and the baseline of a one-machine install.
 *
 * Every process is started in its own process group, so stop() (and this process's exit) can
 * kill the group: nothing a server started (Claude Code, its tools) outlives the harness.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { claudeTestEnv } from '../../test/helpers/claude.ts';

export type Role = 'api' | 'runner' | 'all';
export type Layout = 'roles' | 'single';
export const LAYOUTS: readonly Layout[] = ['roles', 'single'];

const BIN = fileURLToPath(new URL('../../bin/cco.mjs', import.meta.url));
const OUTPUT_TAIL = 100_000;

export interface ClusterOptions {
  layout: Layout;
  api: number;
  runners: number;
  /** Turns each runner process runs at once (MAX_CONCURRENT_RUNS; --concurrency overrides it). */
  concurrency: number;
  databaseUrl: string;
  modelUrl: string;
  /** Scratch folder: shared workspaces/ and claude/, a data folder per process, projects/ as ALLOWED_ROOTS. */
  dir: string;
  env?: Record<string, string>;
  log?: (line: string) => void;
}

export interface Member {
  readonly name: string;
  readonly role: Role;
  readonly port: number;
  readonly url: string;
  child: ChildProcess | undefined;
  starts: number;
  /** The last OUTPUT_TAIL characters of its stdout and stderr, across restarts. */
  output: string;
}

/** A free TCP port on loopback (a moment later someone else may take it; fine on a test machine). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Every process group this module started, killed with SIGKILL if the harness exits without stop(). */
const groups = new Set<number>();
process.once('exit', () => {
  for (const pgid of groups) killGroup(pgid, 'SIGKILL');
});
// Ctrl-C or a CI timeout: without a handler Node dies by the signal and 'exit' never runs.
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(130));

function killGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // already gone
  }
}

export class Cluster {
  readonly members: Member[];
  readonly projectsDir: string;
  private readonly opts: ClusterOptions;
  private readonly shared: Record<string, string>;

  private constructor(opts: ClusterOptions, members: Member[]) {
    this.opts = opts;
    this.members = members;
    this.projectsDir = path.join(opts.dir, 'projects');
    fs.mkdirSync(this.projectsDir, { recursive: true });
    this.shared = {
      ...(claudeTestEnv({ baseUrl: opts.modelUrl, configDir: path.join(opts.dir, 'claude') }) as Record<string, string>),
      DATABASE_URL: opts.databaseUrl,
      WORKSPACES_DIR: path.join(opts.dir, 'workspaces'),
      ALLOWED_ROOTS: this.projectsDir,
      HOST: '127.0.0.1',
      AUTH: 'off',
      LOG_LEVEL: 'warn',
      // One client machine sends everything: the per-address budgets would cut the run short.
      RATE_LIMIT_PER_MIN: '0',
      RATE_LIMIT_HOOKS_PER_MIN: '0',
      ...opts.env,
    };
  }

  /** Starts every process; the first alone (it migrates the database), then the rest together. */
  static async start(opts: ClusterOptions): Promise<Cluster> {
    const roles: Role[] = opts.layout === 'single' ? ['all'] : [...Array<Role>(opts.api).fill('api'), ...Array<Role>(opts.runners).fill('runner')];
    const counts: Record<string, number> = {};
    const members: Member[] = [];
    for (const role of roles) {
      counts[role] = (counts[role] ?? 0) + 1;
      const port = await freePort();
      members.push({ name: `${role}-${counts[role]}`, role, port, url: `http://127.0.0.1:${port}`, child: undefined, starts: 0, output: '' });
    }
    const cluster = new Cluster(opts, members);
    await cluster.launch(members[0]!);
    await Promise.all(members.slice(1).map((m) => cluster.launch(m)));
    return cluster;
  }

  /** Members that serve the HTTP API (api, or all in the single layout). */
  get apis(): Member[] {
    return this.members.filter((m) => m.role !== 'runner');
  }

  get runners(): Member[] {
    return this.members.filter((m) => m.role !== 'api');
  }

  /** Starts a member (again) and waits until its health endpoint answers. */
  async launch(m: Member, timeoutMs = 60_000): Promise<void> {
    const env: Record<string, string> = {
      ...this.shared,
      PORT: String(m.port),
      DATA_DIR: path.join(this.opts.dir, 'data', m.name),
      ...(m.role === 'all' ? {} : { ROLE: m.role }),
      ...(m.role === 'api' ? {} : { MAX_CONCURRENT_RUNS: String(this.opts.concurrency) }),
    };
    // The role goes by ROLE (cco serve --role reads it), so the same argv works before the flag exists.
    const child = spawn(process.execPath, [BIN, 'serve'], { env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    groups.add(child.pid!);
    m.child = child;
    m.starts += 1;
    const append = (d: Buffer) => (m.output = (m.output + d.toString()).slice(-OUTPUT_TAIL));
    child.stdout!.on('data', append);
    child.stderr!.on('data', append);
    let ended = '';
    child.once('exit', (code, signal) => {
      ended = String(signal ?? code);
      if (m.child === child) m.child = undefined;
      this.opts.log?.(`${m.name} (pid ${child.pid}) exited: ${signal ?? code}`);
    });
    const deadline = Date.now() + timeoutMs;
    while (!(await this.healthy(m))) {
      if (m.child !== child) throw new Error(`${m.name} exited while starting (${ended || 'replaced'}${ended === 'SIGKILL' ? ', killed before it was healthy' : ''}):\n${m.output.slice(-3000)}`);
      if (Date.now() > deadline) throw new Error(`${m.name} not healthy after ${timeoutMs} ms:\n${m.output.slice(-3000)}`);
      await sleep(100);
    }
  }

  /** GET /health (a runner) or /api/health (api, all); a runner before the roles land serves the latter. */
  async healthy(m: Member): Promise<boolean> {
    const paths = m.role === 'runner' ? ['/health', '/api/health'] : ['/api/health'];
    for (const p of paths) {
      try {
        const r = await fetch(m.url + p, { signal: AbortSignal.timeout(2_000) });
        if (r.ok) return true;
      } catch {
        // not listening (yet)
      }
    }
    return false;
  }

  /** kill -9 of the server process alone, as a crash: what it started must go by the server's own means. */
  async kill9(m: Member): Promise<void> {
    const child = m.child;
    if (!child) return;
    const gone = new Promise<void>((r) => child.once('exit', () => r()));
    child.kill('SIGKILL');
    await gone;
  }

  /** Pids of the server processes now running. */
  pids(): Array<{ name: string; role: Role; pid: number }> {
    return this.members.flatMap((m) => (m.child?.pid ? [{ name: m.name, role: m.role, pid: m.child.pid }] : []));
  }

  /** Starts every member that is not running. */
  async reviveAll(): Promise<void> {
    await Promise.all(this.members.filter((m) => !m.child).map((m) => this.launch(m)));
  }

  /** SIGTERM to every server (they drain), then SIGKILL to every process group ever started here. */
  async stop(graceMs = 20_000): Promise<void> {
    const running = this.members.flatMap((m) => (m.child ? [m.child] : []));
    await Promise.all(
      running.map(async (child) => {
        const gone = new Promise<void>((r) => child.once('exit', () => r()));
        child.kill('SIGTERM');
        await Promise.race([gone, sleep(graceMs)]);
      }),
    );
    for (const pgid of groups) killGroup(pgid, 'SIGKILL');
    groups.clear();
  }
}
