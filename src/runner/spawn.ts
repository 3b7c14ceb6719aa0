/**
 * Starts the Claude Code process for a turn. Two guarantees the SDK's own spawn
 * does not give:
 * - it dies with the server: `setpriv --pdeathsig KILL` makes the kernel kill it
 *   when the server process dies, even on kill -9;
 * - its tools die with it: it leads its own process group, and kill() signals the
 *   whole group, so a Bash tool's children cannot linger after an interrupt;
 * - its tools die with the server too: the turn watchdog (watchdog.ts) is told the
 *   group and the turn's CCO_TURN marker, and kills both if the server dies first.
 * It also runs at a lower CPU priority than the server (CLAUDE_NICE, `nice -n`, set
 * before it starts so that every thread and tool inherits it): each Claude Code process
 * starts with about 0.5-2 s of CPU, and a few at once on a small machine left the API,
 * hook ingest and a restarting server waiting for the CPU.
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import type { SpawnOptions, SpawnedProcess } from '@anthropic-ai/claude-agent-sdk';
import { processWatchdog, type TurnWatchdog } from './watchdog.ts';

let setprivPath: string | null | undefined;

let nicePath: string | null | undefined;

/** `nice` of coreutils, if this system has it (it does wherever setpriv is). */
function findNice(): string | null {
  if (nicePath === undefined) {
    const r = spawnSync('nice', ['-n', '0', 'true'], { stdio: 'ignore' });
    nicePath = r.status === 0 ? 'nice' : null;
  }
  return nicePath;
}

function findSetpriv(): string | null {
  if (setprivPath === undefined) {
    const r = spawnSync('setpriv', ['--help'], { stdio: 'ignore' });
    setprivPath = r.status === 0 ? 'setpriv' : null;
  }
  return setprivPath;
}

/** Kills a process group, falling back to the process; never throws. */
export function killGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (!pid) return;
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
  }
}

/**
 * Kills every process whose environment holds NAME=value. Claude Code's tool
 * children inherit its environment but may lead their own process groups, so
 * after a crash this is how the leftovers of a turn are found. Linux only (/proc);
 * elsewhere it finds nothing.
 */
export function killByEnv(name: string, value: string): number {
  const needle = `${name}=${value}`;
  let killed = 0;
  let entries: string[];
  try {
    entries = fs.readdirSync('/proc').filter((e) => /^\d+$/.test(e));
  } catch {
    return 0;
  }
  for (const pid of entries) {
    try {
      if (!fs.readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').includes(needle)) continue;
      process.kill(Number(pid), 'SIGKILL');
      killed++;
    } catch {
      // gone meanwhile, or not ours
    }
  }
  return killed;
}

export interface LocalSpawn {
  spawner: (options: SpawnOptions) => SpawnedProcess;
  /** The last few KB of stderr, for error messages. */
  stderrTail(): string;
  /** Kills whatever the turn left in its process group; the watchdog then forgets it. */
  killAll(): void;
}

/** Turns the program the SDK asks for into the one to start (isolation.ts wraps it in bwrap). */
export type CommandWrapper = (options: SpawnOptions) => [string, string[]];

export function localSpawner(onStart?: (pid: number) => void, watchdog: TurnWatchdog = processWatchdog(), wrap?: CommandWrapper, nice = 0): LocalSpawn {
  const watched = new Set<number>();
  let tail = '';
  const spawner = (options: SpawnOptions): SpawnedProcess => {
    const setpriv = findSetpriv();
    const [program, programArgs] = wrap ? wrap(options) : [options.command, options.args];
    const [deathTied, deathTiedArgs] = setpriv ? [setpriv, ['--pdeathsig', 'KILL', '--', program, ...programArgs]] : [program, programArgs];
    // nice execs setpriv, which execs the program: one process, the server still its parent (pdeathsig).
    const niceCmd = nice > 0 ? findNice() : null;
    const [cmd, args] = niceCmd ? [niceCmd, ['-n', String(nice), deathTied, ...deathTiedArgs]] : [deathTied, deathTiedArgs];
    const c = spawn(cmd, args, { cwd: options.cwd, env: options.env, stdio: ['pipe', 'pipe', 'pipe'], detached: true });
    c.stderr?.setEncoding('utf8');
    c.stderr?.on('data', (d: string) => {
      tail = (tail + d).slice(-4096);
    });
    if (c.pid) {
      watchdog.watch(c.pid, options.env.CCO_TURN ? `CCO_TURN=${options.env.CCO_TURN}` : undefined);
      watched.add(c.pid);
      onStart?.(c.pid);
    }
    const signalHandler = () => killGroup(c.pid, 'SIGTERM');
    options.signal?.addEventListener('abort', signalHandler, { once: true });
    // The SDK kills through this object; route it to the whole group.
    type Listener = (...args: unknown[]) => void;
    const wrapped = {
      get stdin() {
        return c.stdin!;
      },
      get stdout() {
        return c.stdout!;
      },
      get killed() {
        return c.killed;
      },
      get exitCode() {
        return c.exitCode;
      },
      get signalCode() {
        return c.signalCode;
      },
      kill(signal: NodeJS.Signals) {
        killGroup(c.pid, signal);
        return true;
      },
      on(event: string, listener: Listener) {
        c.on(event, listener);
      },
      once(event: string, listener: Listener) {
        c.once(event, listener);
      },
      off(event: string, listener: Listener) {
        c.off(event, listener);
      },
    };
    return wrapped as unknown as SpawnedProcess;
  };
  const killAll = () => {
    for (const pid of watched) {
      killGroup(pid, 'SIGKILL');
      watchdog.forget(pid);
    }
    watched.clear();
  };
  return { spawner, stderrTail: () => tail, killAll };
}
