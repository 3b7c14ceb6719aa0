/**
 * The server's side of the turn watchdog (turn-watchdog.mjs): one small node
 * process per server, started with the first local turn, that outlives the server
 * just long enough to kill what its turns left running. The server tells it each
 * turn's process group and CCO_TURN marker when Claude Code starts and forgets
 * them when the turn is cleaned up; when the server dies (kill -9 included) the
 * watchdog's stdin reaches EOF and it kills those groups and every process carrying
 * those markers.
 *
 * One per server rather than one per turn: a turn then costs a line on a pipe, not a
 * process. It is its own session (detached), so a terminal's Ctrl-C or a kill of the
 * server's process group does not take it down before it has done its work.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const SCRIPT = path.join(path.dirname(fileURLToPath(import.meta.url)), 'turn-watchdog.mjs');

export class TurnWatchdog {
  #child: ChildProcess | undefined;
  readonly #turns = new Map<number, string>();

  /** Watch a turn: its process group leader and its marker (NAME=value). */
  watch(pgid: number, marker: string | undefined): void {
    const line = `+${pgid} ${marker ?? ''}`.trimEnd();
    this.#turns.set(pgid, line);
    this.#send(line);
  }

  /** The turn's processes were cleaned up by the server itself. */
  forget(pgid: number): void {
    if (this.#turns.delete(pgid)) this.#send(`-${pgid}`);
  }

  /** The watchdog's pid while it runs (diagnostics and tests). */
  pid(): number | undefined {
    return this.#child?.pid;
  }

  #send(line: string): void {
    const child = this.#ensure();
    child?.stdin?.write(`${line}\n`);
  }

  #ensure(): ChildProcess | undefined {
    if (this.#child && this.#child.exitCode === null && this.#child.signalCode === null) return this.#child;
    let child: ChildProcess;
    try {
      // No environment: it must not carry a marker itself, and needs nothing.
      child = spawn(process.execPath, [SCRIPT], { stdio: ['pipe', 'ignore', 'ignore'], detached: true, env: {} });
    } catch {
      return undefined; // cannot start one: recovery at the next start still cleans up
    }
    child.on('error', () => {});
    // Replaced at once if it dies while turns run (killed by hand, out of memory), not at the next turn.
    child.on('exit', () => {
      if (this.#child !== child) return;
      this.#child = undefined;
      if (this.#turns.size > 0) this.#ensure();
    });
    child.stdin!.on('error', () => {}); // EPIPE if it died; the next write starts another
    // The server must not stay alive for its watchdog's sake.
    child.unref();
    (child.stdin as unknown as { unref?: () => void }).unref?.();
    this.#child = child;
    // A new watchdog (the old one died) must know every turn still running.
    for (const line of this.#turns.values()) child.stdin!.write(`${line}\n`);
    return child;
  }
}

let shared: TurnWatchdog | undefined;

/** The process's watchdog: it is tied to this process's lifetime, so there is one per process. */
export function processWatchdog(): TurnWatchdog {
  shared ??= new TurnWatchdog();
  return shared;
}
