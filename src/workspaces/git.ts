/**
 * Running git safely: always an argv array (never a shell string), never an
 * interactive prompt, always a time limit, a bounded output, and an error that
 * carries a short stderr tail with every credential-looking part removed.
 */
import { spawn } from 'node:child_process';
import { AppError } from '../lib/errors.ts';
import { configuredNames, driverOverrides, FIXED_OVERRIDES, withConfigEntries } from './git-config-guard.ts';

export interface GitOptions {
  cwd?: string | undefined;
  timeoutMs: number;
  /** Extra environment (credentials go here, never into argv). */
  env?: Record<string, string> | undefined;
  /** Stop reading stdout past this many bytes (the result is marked truncated). */
  maxOutputBytes?: number | undefined;
  /** Called every 500 ms while git runs; returning a string aborts git with that reason. */
  watch?: (() => Promise<string | undefined>) | undefined;
}

export interface GitResult {
  stdout: string;
  truncated: boolean;
}

/** Protocols git may use; anything else (ext::, fd::, remote helpers) is refused by git itself. */
export const GIT_ALLOW_PROTOCOL = 'http:https:ssh:git:file';

/** The environment every git child gets, on top of the server's own. */
export function gitEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const inherited = { ...process.env };
  // Tracing could print request headers (our credentials) to stderr, which feeds error messages.
  for (const k of ['GIT_CURL_VERBOSE', 'GIT_TRACE_CURL', 'GIT_TRACE', 'GIT_TRACE_PACKET', 'GIT_CONFIG_COUNT', 'GIT_CONFIG_PARAMETERS', 'GIT_DIR', 'GIT_WORK_TREE', 'GIT_INDEX_FILE', 'GIT_EXTERNAL_DIFF']) {
    delete inherited[k];
  }
  for (const k of Object.keys(inherited)) if (/^GIT_CONFIG_(KEY|VALUE)_\d+$/.test(k)) delete inherited[k];
  return {
    ...inherited,
    GIT_TRACE_REDACT: '1',
    GIT_TERMINAL_PROMPT: '0',
    GIT_ASKPASS: '',
    SSH_ASKPASS: '',
    GIT_ALLOW_PROTOCOL,
    // ssh must fail rather than ask about an unknown host key.
    // The environment wins over core.sshCommand, so a repository's own ssh command never runs.
    GIT_SSH_COMMAND: process.env.GIT_SSH_COMMAND ?? 'ssh -o BatchMode=yes',
    // Set (even empty) it hides core.gitProxy, which a repository could point at any command.
    GIT_PROXY_COMMAND: '',
    LC_ALL: 'C',
    ...extra,
  };
}

/** Removes userinfo from URLs and Authorization values from any text that may reach a log or an error. */
export function redactSecrets(text: string): string {
  return text
    .replace(/([a-z][a-z0-9+.-]*:\/\/)[^/@\s]*@/gi, '$1***@')
    .replace(/(authorization:\s*\w+\s+)\S+/gi, '$1***')
    .replace(/(extraheader\S*\s*=?\s*)\S.*$/gim, '$1***');
}

export class GitError extends AppError {
  constructor(
    code: string,
    message: string,
    readonly exitCode: number | null,
    readonly stderrTail: string,
    statusCode = 400,
  ) {
    super(code, message, statusCode);
  }
}

const STDERR_TAIL = 2000;

/**
 * Runs `git ...args`; rejects with GitError (already redacted) on a non-zero exit, a timeout or a
 * watch abort. Commands named by the repository's configuration never run (git-config-guard.ts).
 */
export async function runGit(args: readonly string[], opts: GitOptions): Promise<GitResult> {
  // Without a cwd (clone, init) only the user's and system's config apply: listed from "/".
  const names = await configuredNames(opts.cwd ?? '/', gitEnv(), Math.min(opts.timeoutMs, 30_000));
  const env = withConfigEntries(opts.env ?? {}, [...FIXED_OVERRIDES, ...driverOverrides(names)]);
  return spawnGit(args, { ...opts, env });
}

function spawnGit(args: readonly string[], opts: GitOptions): Promise<GitResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('git', [...args], {
      cwd: opts.cwd,
      env: gitEnv(opts.env),
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true, // own process group: a timeout also ends git's helpers (ssh, remote-https, pack-objects)
    });
    const max = opts.maxOutputBytes ?? 64 * 1024 * 1024;
    const out: Buffer[] = [];
    let outBytes = 0;
    let truncated = false;
    let err = '';
    let abortReason: string | undefined;
    child.stdout.on('data', (b: Buffer) => {
      if (outBytes >= max) {
        truncated = true;
        return;
      }
      out.push(b);
      outBytes += b.length;
    });
    child.stderr.on('data', (b: Buffer) => {
      err = (err + b.toString('utf8')).slice(-STDERR_TAIL * 2);
    });
    let forceKill: NodeJS.Timeout | undefined;
    const stop = (reason: string) => {
      if (abortReason) return;
      abortReason = reason;
      killGroup(child.pid, 'SIGTERM');
      forceKill = setTimeout(() => killGroup(child.pid, 'SIGKILL'), 2000);
      forceKill.unref();
    };
    const timer = setTimeout(() => stop(`timed out after ${opts.timeoutMs} ms`), opts.timeoutMs);
    let watching = false;
    const poll = opts.watch
      ? setInterval(() => {
          if (watching) return;
          watching = true;
          opts.watch!().then(
            (r) => {
              watching = false;
              if (r) stop(r);
            },
            () => {
              watching = false;
            },
          );
        }, 500)
      : undefined;
    child.on('error', (e) => {
      clearTimeout(timer);
      if (poll) clearInterval(poll);
      reject(new GitError('git_unavailable', `could not run git: ${e.message}`, null, '', 500));
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      // The group is gone; its id may be reused by an unrelated process, so never signal it again.
      clearTimeout(forceKill);
      if (poll) clearInterval(poll);
      const tail = redactSecrets(err.trim()).slice(-STDERR_TAIL);
      if (abortReason) {
        reject(new GitError(abortReason.startsWith('timed out') ? 'git_timeout' : 'git_aborted', `git ${args[0]} ${abortReason}`, code, tail));
      } else if (code !== 0) {
        reject(new GitError('git_failed', `git ${args[0]} failed (exit ${code}): ${lastLine(tail)}`, code, tail));
      } else {
        const buf = Buffer.concat(out);
        resolve({ stdout: buf.subarray(0, max).toString('utf8'), truncated });
      }
    });
  });
}

function lastLine(s: string): string {
  const lines = s.split('\n').filter((l) => l.trim() !== '');
  return (lines.slice(-2).join(' | ') || 'no output').slice(0, 500);
}

function killGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (!pid) return;
  try {
    process.kill(-pid, signal);
  } catch {
    // already gone
  }
}

/**
 * Serializes work per key (a base repository's real path): git takes locks on
 * refs, config and the worktree list, and concurrent `worktree add` on one repo
 * fails on them. Different keys run in parallel.
 */
export class KeyedQueue {
  private readonly tails = new Map<string, Promise<unknown>>();

  run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.tails.get(key) ?? Promise.resolve();
    const next = prev.then(fn, fn);
    const tail = next.catch(() => {});
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return next;
  }
}
