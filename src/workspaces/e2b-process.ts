/**
 * Claude Code inside an E2B sandbox, shaped like a local child process for the
 * Agent SDK (its SpawnedProcess interface): stdout is the command's output
 * stream, stdin writes become envd SendInput calls (in order, one at a time),
 * ending stdin closes it, and kill() kills the command. The SDK needs the object
 * synchronously; the sandbox call that starts the command runs in the
 * background, and stdin written meanwhile waits for it.
 */
import { EventEmitter } from 'node:events';
import { Readable, Writable } from 'node:stream';
import type { SpawnOptions, SpawnedProcess } from '@anthropic-ai/claude-agent-sdk';
import type { CommandHandle, Sandbox } from 'e2b';
import { shellQuote } from './e2b-shell.ts';

/** Variables Claude Code needs; nothing else of the server's environment (database URLs, tokens) enters the sandbox. */
const FORWARDED_ENV = /^(ANTHROPIC_|CLAUDE_|DISABLE_|MCP_|IS_SANDBOX$|API_TIMEOUT_MS$)/;

export interface SandboxCommand {
  sandbox: () => Promise<Sandbox>;
  /** Claude Code's executable inside the sandbox. */
  claudeCommand: string;
  cwd: string;
}

/** Replaces the host's executable with the sandbox's, keeping the SDK's flags. */
export function sandboxArgv(options: SpawnOptions, claudeCommand: string): string[] {
  const base = options.command.split('/').pop() ?? '';
  // A JS entry point is launched as `node cli.js ...`: drop the interpreter and the script path.
  const args = /^(node|bun|deno)(\.exe)?$/.test(base) ? options.args.slice(1) : options.args;
  return [claudeCommand, ...args];
}

export function forwardedEnv(env: SpawnOptions['env']): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined && FORWARDED_ENV.test(k)) out[k] = v;
  return out;
}

export class SandboxProcess extends EventEmitter implements SpawnedProcess {
  readonly stdout = new Readable({ read() {} });
  readonly stdin: Writable;
  private readonly started: Promise<CommandHandle>;
  private _killed = false;
  private _exitCode: number | null = null;
  private _signal: NodeJS.Signals | null = null;
  private stderrTail = '';

  constructor(options: SpawnOptions, cmd: SandboxCommand) {
    super();
    const line = sandboxArgv(options, cmd.claudeCommand).map(shellQuote).join(' ');
    this.started = (async () => {
      const sandbox = await cmd.sandbox();
      const handle = await sandbox.commands.run(line, {
        background: true,
        stdin: true,
        cwd: cmd.cwd,
        envs: forwardedEnv(options.env),
        timeoutMs: 0, // a session's process lives as long as the session; the SDK ends it
        onStdout: (d) => {
          this.stdout.push(d);
        },
        onStderr: (d) => {
          this.stderrTail = (this.stderrTail + d).slice(-4000);
        },
      });
      return handle;
    })();
    this.started.then(
      (h) => this.watchExit(h),
      (e: unknown) => this.fail(e),
    );
    this.stdin = new Writable({
      write: (chunk: Buffer, _enc, cb) => {
        this.started.then((h) => h.sendStdin(chunk)).then(() => cb(), (e: unknown) => cb(e as Error));
      },
      final: (cb) => {
        this.started.then((h) => h.closeStdin()).then(() => cb(), () => cb());
      },
    });
    this.stdin.on('error', () => {}); // surfaced through 'exit'; an unhandled stream error would crash the server
    options.signal.addEventListener('abort', () => this.kill('SIGKILL'), { once: true });
  }

  get killed(): boolean {
    return this._killed;
  }

  get exitCode(): number | null {
    return this._exitCode;
  }

  get signalCode(): NodeJS.Signals | null {
    return this._signal;
  }

  /** The last few KB the command wrote to stderr (for error reports). */
  get stderr(): string {
    return this.stderrTail;
  }

  kill(signal: NodeJS.Signals): boolean {
    if (this._exitCode !== null || this._signal !== null) return false;
    this._killed = true;
    this._signal = signal;
    // envd only offers SIGKILL for commands; the SDK has already closed stdin for a graceful end.
    void this.started.then((h) => h.kill()).catch(() => {});
    return true;
  }

  private watchExit(h: CommandHandle): void {
    h.wait().then(
      (r) => this.finish(r.exitCode),
      (e: unknown) => {
        const code = (e as { exitCode?: number }).exitCode;
        this.finish(typeof code === 'number' ? code : 1);
      },
    );
  }

  private finish(code: number): void {
    if (this._exitCode !== null) return;
    this._exitCode = this._signal ? null : code;
    this.stdout.push(null);
    this.emit('exit', this._exitCode, this._signal);
  }

  private fail(e: unknown): void {
    this.stdout.push(null);
    this.emit('error', e instanceof Error ? e : new Error(String(e)));
    this._exitCode = 1;
    this.emit('exit', 1, null);
  }
}

