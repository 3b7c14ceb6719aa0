/**
 * One cco process per data folder (the embedded PostgreSQL, and an old PGlite folder
 * being imported): a lock file naming its owner turns a second start into a clear error,
 * and lets the owner treat any postmaster.pid it finds as a crashed server's.
 *
 * The owner is recorded as pid + boot id + pid namespace + process start time, because
 * a pid alone lies after a crash: in a container the server is always pid 1, so
 * a restart after kill -9 finds "its own" pid in the file; after a reboot any
 * pid may belong to an unrelated process. The file is stale when the boot differs,
 * when the pid is ours but this process does not hold the lock, when no process
 * has that pid, or when the process with that pid started at another time.
 * An owner in another pid namespace (a restarted container, or another one sharing
 * the folder) cannot be looked up, so the owner refreshes the file's mtime every
 * few seconds and such a lock is stale once the refreshes stop.
 */
import fs from 'node:fs';
import path from 'node:path';

export interface DirLock {
  release(): void;
}

export interface DirLockOptions {
  /** A lock of another pid namespace not refreshed for this long is stale. */
  staleMs?: number;
}

interface Owner {
  pid: number;
  boot_id: string | null;
  pid_ns: string | null;
  start: string | null;
}

const STALE_MS = 10_000;
/** Lock files this process holds (the only way to tell "ours" from "an earlier process with our pid"). */
const held = new Set<string>();

export async function acquireDirLock(dir: string, opts: DirLockOptions = {}): Promise<DirLock> {
  const staleMs = opts.staleMs ?? STALE_MS;
  const file = path.join(dir, 'cco.lock');
  const me = self();
  const deadline = Date.now() + staleMs + 1_000;
  for (;;) {
    try {
      fs.writeFileSync(file, JSON.stringify(me), { flag: 'wx' });
      return hold(file, staleMs);
    } catch (e: unknown) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const state = ownerState(file, me, staleMs);
      if (state.kind === 'alive' || (state.kind === 'fresh' && Date.now() >= deadline)) {
        throw new Error(
          `The embedded database in ${dir} is in use by process ${state.pid}. Stop that process, or set DATA_DIR to another folder, or use DATABASE_URL.`,
          { cause: e },
        );
      }
      if (state.kind === 'fresh') {
        // Another namespace's owner: wait to see whether it still refreshes the file.
        await new Promise((r) => setTimeout(r, Math.min(500, staleMs / 4)));
        continue;
      }
      // Left behind by a process that died. Rename first, so of two starters only one removes it.
      const aside = `${file}.stale-${process.pid}-${Date.now()}`;
      try {
        fs.renameSync(file, aside);
        fs.rmSync(aside, { force: true });
      } catch {
        // another starter moved it first; try again
      }
    }
  }
}

function hold(file: string, staleMs: number): DirLock {
  held.add(file);
  const beat = setInterval(() => {
    const now = new Date();
    try {
      fs.utimesSync(file, now, now);
    } catch {
      // removed under us; nothing to refresh
    }
  }, Math.max(50, Math.floor(staleMs / 4)));
  beat.unref();
  let released = false;
  return {
    release() {
      if (released) return;
      released = true;
      clearInterval(beat);
      held.delete(file);
      fs.rmSync(file, { force: true });
    },
  };
}

type OwnerState = { kind: 'alive' | 'fresh'; pid: number } | { kind: 'stale' };

function ownerState(file: string, me: Owner, staleMs: number): OwnerState {
  let text: string;
  let mtimeMs: number;
  try {
    text = fs.readFileSync(file, 'utf8');
    mtimeMs = fs.statSync(file).mtimeMs;
  } catch {
    return { kind: 'stale' }; // removed meanwhile
  }
  const o = parseOwner(text);
  if (!o) return { kind: 'stale' };
  if (o.boot_id && me.boot_id && o.boot_id !== me.boot_id) return { kind: 'stale' };
  if (o.pid_ns && me.pid_ns && o.pid_ns !== me.pid_ns) {
    return Date.now() - mtimeMs < staleMs ? { kind: 'fresh', pid: o.pid } : { kind: 'stale' };
  }
  if (o.pid === process.pid) return held.has(file) ? { kind: 'alive', pid: o.pid } : { kind: 'stale' };
  if (!pidExists(o.pid)) return { kind: 'stale' };
  const start = startTicks(o.pid);
  if (o.start && start && o.start !== start) return { kind: 'stale' }; // the pid was reused
  return { kind: 'alive', pid: o.pid };
}

/** The current JSON format, or the bare pid older versions wrote. */
function parseOwner(text: string): Owner | null {
  const bare = Number(text.trim());
  if (Number.isInteger(bare) && bare > 0) return { pid: bare, boot_id: null, pid_ns: null, start: null };
  try {
    const v = JSON.parse(text) as Partial<Owner>;
    if (!Number.isInteger(v.pid) || (v.pid as number) <= 0) return null;
    const str = (x: unknown) => (typeof x === 'string' && x ? x : null);
    return { pid: v.pid as number, boot_id: str(v.boot_id), pid_ns: str(v.pid_ns), start: str(v.start) };
  } catch {
    return null;
  }
}

function self(): Owner {
  return { pid: process.pid, boot_id: readText('/proc/sys/kernel/random/boot_id'), pid_ns: readLink('/proc/self/ns/pid'), start: startTicks(process.pid) };
}

function pidExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e: unknown) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Field 22 of /proc/<pid>/stat: when the process started, in clock ticks since boot (Linux only). */
function startTicks(pid: number): string | null {
  const stat = readText(`/proc/${pid}/stat`);
  if (!stat) return null;
  // The command name (field 2) may hold spaces and parentheses; fields after it are plain.
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? null;
}

function readText(file: string): string | null {
  try {
    return fs.readFileSync(file, 'utf8').trim() || null;
  } catch {
    return null;
  }
}

function readLink(file: string): string | null {
  try {
    return fs.readlinkSync(file);
  } catch {
    return null;
  }
}
