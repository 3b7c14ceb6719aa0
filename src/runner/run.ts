/** What the runner keeps about a turn it has taken, and its test seams. */
import type { Logger } from '../logger.ts';
import type { HookCallback } from '@anthropic-ai/claude-agent-sdk';
import type { WorkspaceRecord } from '../workspaces/port.ts';
import type { RunOptions } from './options.ts';
import type { StreamRecorder } from './stream-recorder.ts';
import type { TurnHandle } from './turn.ts';

/**
 * Awaited at fixed points of a turn so a test can force an interleaving (a close
 * during set-up, a release during the change scan). Production passes none.
 */
export interface RunnerHooks {
  /** The turn was claimed (running in the database); nothing else is done yet. */
  claimed?(t: { sessionId: string; turnId: number }): Promise<void>;
  /** Everything is set up; Claude Code is about to start. */
  beforeStart?(t: { sessionId: string; turnId: number }): Promise<void>;
  /** The turn is recorded; the workspace's after-turn change scan is about to run. */
  afterTurnScan?(t: { sessionId: string; turnId: number }): Promise<void>;
  /** The turn and the session's turn state are written; the run is about to end. */
  settled?(t: { sessionId: string; turnId: number }): Promise<void>;
}

/** One turn the runner has taken, from its claim to its last write. */
export interface Run {
  turnId: number;
  /** A close ('completed'), pause or shutdown that arrived; every step of the set-up looks at it. */
  stop: 'completed' | 'paused' | 'shutdown' | undefined;
  /** The job's lease is gone: its retry elsewhere reports the turn, this process only stops it. */
  leaseLost: boolean;
  /** Claude Code's handle while it runs. */
  handle: TurnHandle | undefined;
  /** Settles when the turn is fully finished: recorded, workspace scanned, turn state set. */
  done: Promise<void>;
  /** The turn is recorded: the session's turn state no longer says running. */
  settled: boolean;
}

export type Attempt = { run: Run; turnId: number; sessionId: string; cwd: string; options: RunOptions; env: Record<string, string>; secrets: string[]; recorder: StreamRecorder; workspace: WorkspaceRecord | undefined; log: Logger; gate?: ((onActivity: () => void) => HookCallback) | undefined };
