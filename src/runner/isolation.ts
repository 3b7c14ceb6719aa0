/**
 * Isolation of a turn (issue 11, point 9): Claude Code and every tool it runs see only the
 * session's workspace, Claude Code's config folder and the system's read-only folders. The
 * server's environment (/proc of its processes), its data folder, its keys and other sessions'
 * workspaces are not there.
 *
 * How: the whole Claude Code process runs under bubblewrap (bwrap), not only its Bash tool
 * (which is all Claude Code's own sandbox setting confines): Read, Grep and Glob run inside
 * Claude Code itself. The mount namespace starts empty (a tmpfs root) and gets an allow-list of
 * folders, so a folder nobody thought of stays hidden; a new PID namespace with its own /proc
 * means /proc/$PPID is Claude Code, never the server. The network is shared: Claude Code must
 * reach its model API (which may be on loopback).
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { CommandWrapper } from './spawn.ts';

export const ISOLATION_SETTINGS = ['auto', 'bwrap', 'off'] as const;
export type IsolationSetting = (typeof ISOLATION_SETTINGS)[number];

/** What is in force, decided once at start, and why (said in the start log and by `cco doctor`). */
export interface IsolationStatus {
  setting: IsolationSetting;
  mode: 'bwrap' | 'off';
  detail: string;
}

/** Read-only system folders every sandbox gets (the ones that exist). /run, /var, /home, /root and /srv are left out on purpose. */
const SYSTEM_DIRS = ['/usr', '/bin', '/sbin', '/lib', '/lib32', '/lib64', '/libx32', '/etc', '/opt', '/nix'];

/** The smallest sandbox we build, run once: does bwrap work on this host (installed, namespaces allowed)? */
function probeBwrap(): string | undefined {
  const r = spawnSync('bwrap', ['--unshare-pid', '--die-with-parent', '--tmpfs', '/', ...systemBinds(), '--proc', '/proc', '--dev', '/dev', 'true'], { stdio: ['ignore', 'ignore', 'pipe'], timeout: 10_000, encoding: 'utf8' });
  if (r.error) return (r.error as NodeJS.ErrnoException).code === 'ENOENT' ? 'bubblewrap (bwrap) is not installed' : r.error.message;
  if (r.status !== 0) return `bwrap cannot make a sandbox here: ${(r.stderr ?? '').trim().split('\n')[0] || `exit ${r.status}`}`;
  return undefined;
}

export function resolveIsolation(setting: IsolationSetting, probe: () => string | undefined = probeBwrap): IsolationStatus {
  if (setting === 'off') return { setting, mode: 'off', detail: 'ISOLATION=off: sessions run unconfined; their tools can read the server environment, DATA_DIR and other sessions\' workspaces.' };
  const problem = process.platform === 'linux' ? probe() : `bubblewrap isolation needs Linux (this is ${process.platform})`;
  if (!problem) return { setting, mode: 'bwrap', detail: 'bwrap: each turn sees only its workspace, Claude Code\'s config folder and read-only system folders, in its own PID namespace.' };
  if (setting === 'bwrap') throw new Error(`ISOLATION=bwrap, but ${problem}. Install bubblewrap (apt-get install bubblewrap) or set ISOLATION=auto or off.`);
  return { setting, mode: 'off', detail: `NOT ISOLATED: ${problem}; sessions' tools can read the server environment, DATA_DIR and other sessions' workspaces. Install bubblewrap (apt-get install bubblewrap).` };
}

function systemBinds(): string[] {
  return SYSTEM_DIRS.flatMap((d) => ['--ro-bind-try', d, d]);
}

const within = (p: string, dir: string) => p === dir || p.startsWith(dir.endsWith('/') ? dir : `${dir}/`);

function real(p: string): string {
  try {
    return fs.realpathSync(p);
  } catch {
    return path.resolve(p);
  }
}

/** A git worktree's .git is a file pointing into its base repository, which git needs (objects, refs). */
function gitCommonDir(cwd: string): string | undefined {
  try {
    const m = /^gitdir:\s*(.+)$/m.exec(fs.readFileSync(path.join(cwd, '.git'), 'utf8'));
    if (!m) return undefined;
    const gitdir = path.resolve(cwd, m[1]!.trim());
    const common = fs.readFileSync(path.join(gitdir, 'commondir'), 'utf8').trim();
    return real(path.resolve(gitdir, common));
  } catch {
    return undefined;
  }
}

/** Folders of Claude Code's config folder that hold other sessions' data (transcripts, file backups, todos, shell state). */
const PER_SESSION_DIRS = ['projects', 'file-history', 'todos', 'shell-snapshots', 'session-env', 'sessions', 'paste-cache', 'debug'];

/** Claude Code's name for a project folder (its transcripts' folder): longer names get a hash we do not reproduce. */
export function projectDirName(cwd: string): string | undefined {
  const name = cwd.replace(/[^a-zA-Z0-9]/g, '-');
  return name.length <= 200 ? name : undefined;
}

/**
 * Claude Code's config folder holds its login and settings (shared, read-write as without
 * isolation) and every session's transcripts: those are covered, and only this workspace's
 * transcript folder (which resume reads) is put back.
 */
function configBinds(configDir: string, cwd: string): string[] {
  fs.mkdirSync(configDir, { recursive: true });
  const a = ['--bind', configDir, configDir];
  const own = [...new Set([cwd, real(cwd)])].map(projectDirName);
  if (own.some((n) => n === undefined)) return a; // a very long path: its transcripts' folder name is unknown, so keep them all
  for (const d of PER_SESSION_DIRS) a.push('--tmpfs', path.join(configDir, d));
  for (const n of own) {
    const dir = path.join(configDir, 'projects', n!);
    fs.mkdirSync(dir, { recursive: true });
    a.push('--bind', dir, dir);
  }
  return a;
}

export interface SandboxSpec {
  cwd: string;
  env: Record<string, string>;
  /** The program the SDK starts (Claude Code) and its arguments. */
  command: string;
  args: string[];
  /** The server's own folders (DATA_DIR, WORKSPACES_DIR, CCO_HOME, ...): hidden even where a system folder holds them. */
  hidden: readonly string[];
}

/** bwrap's command line for one turn: the argv to spawn instead of `command args`. */
export function bwrapCommand(spec: SandboxSpec): [string, string[]] {
  const home = spec.env.HOME ?? os.homedir();
  const configDir = spec.env.CLAUDE_CONFIG_DIR ?? path.join(home, '.claude');
  const a: string[] = ['--unshare-pid', '--unshare-ipc', '--die-with-parent', '--tmpfs', '/', ...systemBinds(), '--proc', '/proc', '--dev', '/dev', '--tmpfs', '/tmp', '--tmpfs', '/var/tmp'];
  // Resolvers that point into /run (systemd-resolved) need their file.
  a.push('--ro-bind-try', '/run/systemd/resolve', '/run/systemd/resolve');
  for (const h of spec.hidden.map(real)) if (SYSTEM_DIRS.some((d) => within(h, d)) && fs.existsSync(h)) a.push('--tmpfs', h);
  // An empty home: the server's own (keys, CCO_HOME, shell history) stays outside.
  a.push('--tmpfs', home);
  // A TMPDIR Claude Code was given must exist for its tools' temporary files; it gets an empty one too.
  if (spec.env.TMPDIR && !within(spec.env.TMPDIR, '/tmp')) a.push('--tmpfs', spec.env.TMPDIR);
  const binary = real(spec.command);
  if (path.isAbsolute(spec.command)) a.push('--ro-bind', path.dirname(binary), path.dirname(binary));
  for (const f of ['.gitconfig', '.claude.json']) {
    const p = path.join(home, f);
    if (fs.existsSync(p)) a.push('--bind', p, p);
  }
  a.push(...configBinds(configDir, spec.cwd));
  const common = gitCommonDir(spec.cwd);
  if (common) a.push('--bind', common, common);
  a.push('--bind', spec.cwd, spec.cwd, '--chdir', spec.cwd);
  return ['bwrap', [...a, '--', binary, ...spec.args]];
}

/** How a local Claude Code process is started under the isolation in force; undefined = as it is. */
export function isolationWrapper(status: IsolationStatus, hidden: readonly string[]): CommandWrapper | undefined {
  if (status.mode !== 'bwrap') return undefined;
  return (o) => bwrapCommand({ cwd: o.cwd ?? process.cwd(), env: o.env as Record<string, string>, command: o.command, args: o.args, hidden });
}
