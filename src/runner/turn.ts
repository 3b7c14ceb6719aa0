/**
 * Runs one turn: starts Claude Code through the Agent SDK on one prompt (resuming
 * the Claude session when there is one), feeds its stream to the recorder, and
 * ends when the turn's result arrives, when it is interrupted (pause, close,
 * shutdown, timeout), or when the process dies.
 */
import type { HookCallback, Options, Query, SDKUserMessage, SpawnedProcess } from '@anthropic-ai/claude-agent-sdk';
import type { ClaudeSpawner } from '../workspaces/port.ts';
import { redact } from './claude-env.ts';
import type { RunOptions } from './options.ts';
import { localSpawner, type CommandWrapper } from './spawn.ts';
import type { StreamRecorder, TurnResult } from './stream-recorder.ts';

export type InterruptReason = 'paused' | 'completed' | 'shutdown' | 'timeout' | 'approval' | 'budget';

export interface TurnHandle {
  /** Asks Claude Code to stop; the turn then ends with `interrupted` (or `timed_out`). */
  interrupt(reason: InterruptReason): void;
  done: Promise<TurnEnd>;
}

export type TurnEnd =
  | { kind: 'result'; result: TurnResult }
  | { kind: 'interrupted'; reason: InterruptReason; result: TurnResult | undefined }
  | { kind: 'failed'; message: string };

export interface TurnSpec {
  prompt: string;
  cwd: string;
  resume: string | undefined;
  options: RunOptions;
  env: Record<string, string>;
  claudePath: string | undefined;
  /** A workspace's own way to start Claude Code (sandboxes); default: a local child process. */
  spawner: ClaudeSpawner | undefined;
  /** Isolation of a local Claude Code process (isolation.ts); ignored when `spawner` is set. */
  wrap?: CommandWrapper | undefined;
  /** The nice value of a local Claude Code process (spawn.ts); ignored when `spawner` is set. */
  nice?: number | undefined;
  recorder: StreamRecorder;
  secrets: string[];
  /** Load the workspace's .claude/settings.json and settings.local.json (false for untrusted clones). */
  projectSettings: boolean;
  onProcessStart?: (pid: number) => void;
  /** Called on every sign of life from Claude Code (stream message, hook callback), for the stall watch. */
  onActivity?: () => void;
  /** The approval policy's PreToolUse callback (src/approvals/gate.ts) and how long it may take, seconds. */
  gate?: { hook: HookCallback; timeoutS: number } | undefined;
}

/** After an interrupt request, how long Claude Code gets to end the turn itself before it is killed. */
const INTERRUPT_GRACE_MS = 5_000;
/**
 * After the result, how long Claude Code gets to report itself idle before its stdin is
 * closed for it. With hook callbacks registered, the SDK keeps stdin open after a result
 * until Claude Code's host-only "idle" state arrives, for up to 10 minutes; normally it
 * comes with the result, but when it does not the turn would hang with its answer stored
 * (issue 9, point 25). We run one prompt per process, so nothing needs the channel then.
 */
const RESULT_EXIT_GRACE_MS = 2_000;

/**
 * The Agent SDK is loaded with the first turn, not at start-up: it holds about 40 MB that an
 * idle server does not need (BENCHMARKS.md, bench:footprint).
 */
let sdkModule: Promise<typeof import('@anthropic-ai/claude-agent-sdk')> | undefined;
const loadSdk = () => (sdkModule ??= import('@anthropic-ai/claude-agent-sdk'));

export function startTurn(spec: TurnSpec): TurnHandle {
  const abort = new AbortController();
  let interruptReason: InterruptReason | undefined;
  let endInput!: () => void;
  const inputEnded = new Promise<void>((r) => (endInput = r));
  const local = localSpawner(spec.onProcessStart, undefined, spec.wrap, spec.nice);

  // Streaming input keeps the control channel open (interrupt needs it); ending
  // the generator after the result closes stdin, and Claude Code exits.
  async function* input(): AsyncGenerator<SDKUserMessage> {
    yield { type: 'user', message: { role: 'user', content: spec.prompt }, parent_tool_use_id: null, session_id: '' } as SDKUserMessage;
    await inputEnded;
  }

  const durationHook: HookCallback = async (hookInput, toolUseId) => {
    spec.onActivity?.();
    spec.recorder.noteHookDuration(toolUseId, (hookInput as { duration_ms?: unknown }).duration_ms);
    return {};
  };

  const o = spec.options;
  const options: Options = {
    cwd: spec.cwd,
    env: spec.env,
    abortController: abort,
    ...(spec.resume ? { resume: spec.resume } : {}),
    ...(spec.claudePath ? { pathToClaudeCodeExecutable: spec.claudePath } : {}),
    systemPrompt: { type: 'preset', preset: 'claude_code', ...(o.append_system_prompt ? { append: o.append_system_prompt } : {}) },
    settingSources: spec.projectSettings ? ['user', 'project', 'local'] : ['user'],
    permissionMode: o.permission_mode,
    ...(o.permission_mode === 'bypassPermissions' ? { allowDangerouslySkipPermissions: true } : {}),
    ...(o.allowed_tools ? { allowedTools: o.allowed_tools } : {}),
    ...(o.disallowed_tools ? { disallowedTools: o.disallowed_tools } : {}),
    ...(o.model ? { model: o.model } : {}),
    ...(o.max_turns ? { maxTurns: o.max_turns } : {}),
    hooks: {
      PostToolUse: [{ hooks: [durationHook] }],
      PostToolUseFailure: [{ hooks: [durationHook] }],
      ...(spec.gate ? { PreToolUse: [{ hooks: [spec.gate.hook], timeout: spec.gate.timeoutS }] } : {}),
    },
  };

  let proc: SpawnedProcess | undefined;
  const spawnClaude = spec.spawner ?? local.spawner;
  options.spawnClaudeCodeProcess = (o) => (proc = spawnClaude(o));
  const q: Promise<Query> = loadSdk().then((sdk) => sdk.query({ prompt: input(), options }));
  let killTimer: NodeJS.Timeout | undefined;
  let exitTimer: NodeJS.Timeout | undefined;
  let endedAfterResult = false;
  const endAfterResult = () => {
    exitTimer = setTimeout(() => {
      proc?.stdin.end();
      exitTimer = setTimeout(() => {
        endedAfterResult = true;
        abort.abort();
      }, INTERRUPT_GRACE_MS);
    }, RESULT_EXIT_GRACE_MS);
  };

  const done = (async (): Promise<TurnEnd> => {
    try {
      for await (const m of await q) {
        spec.onActivity?.();
        spec.recorder.handle(m);
        if (m.type === 'result' && !exitTimer) {
          endInput();
          endAfterResult();
        }
      }
    } catch (e: unknown) {
      if (!interruptReason && !endedAfterResult) {
        const tail = redact(local.stderrTail().trim().split('\n').slice(-5).join('\n'), spec.secrets);
        return { kind: 'failed', message: redact((e as Error).message, spec.secrets) + (tail ? `\n${tail}` : '') };
      }
    } finally {
      endInput();
      clearTimeout(killTimer);
      clearTimeout(exitTimer);
      // Whatever the turn left running in its process group (tool children) goes too.
      local.killAll();
    }
    const result = spec.recorder.result;
    if (interruptReason) return { kind: 'interrupted', reason: interruptReason, result };
    if (!result) return { kind: 'failed', message: redact(`Claude Code exited without a result. ${local.stderrTail().slice(-500)}`, spec.secrets) };
    return { kind: 'result', result };
  })();

  return {
    done,
    interrupt(reason) {
      if (interruptReason) return;
      interruptReason = reason;
      q.then((started) => started.interrupt()).catch(() => {});
      killTimer = setTimeout(() => abort.abort(), INTERRUPT_GRACE_MS);
    },
  };
}
