/** How a turn's end is recorded (turn row) and told (system message). */
import type { TurnOutcome } from '../db/queries/turns.ts';
import type { TurnEnd } from './turn.ts';

const REASON_TEXT = {
  paused: 'Turn interrupted: the session was paused. Queued messages wait until it is resumed.',
  completed: 'Turn interrupted: the session was closed.',
  shutdown: 'Turn interrupted: the server is shutting down. Send a message to continue.',
  timeout: '',
  budget: 'Turn stopped: it passed the budget (the running estimate of its cost reached what was left).',
  approval: 'Turn stopped: a tool call waits for a person\'s approval. The session continues when someone decides.',
} as const;

/**
 * `costBefore` is what earlier turns of the same Claude Code session recorded: Claude Code reports
 * cost as that session's running total (carried across resumes), so the turn's share is the difference.
 */
export function outcomeOf(end: TurnEnd, costBefore: number): TurnOutcome {
  if (end.kind === 'failed') {
    return { status: 'error', cost_usd: null, input_tokens: null, output_tokens: null, num_turns: null, duration_ms: null, is_error: true, subtype: null, terminal_reason: null, error: end.message.slice(0, 4000) };
  }
  const r = end.result;
  const status = end.kind === 'interrupted' ? (end.reason === 'timeout' ? 'timed_out' : 'interrupted') : end.result.is_error ? 'error' : 'completed';
  return {
    status,
    cost_usd: r?.total_cost_usd != null ? Math.max(0, r.total_cost_usd - costBefore) : null,
    input_tokens: r?.input_tokens ?? null,
    output_tokens: r?.output_tokens ?? null,
    num_turns: r?.num_turns ?? null,
    duration_ms: r?.duration_ms ?? null,
    is_error: r?.is_error ?? null,
    subtype: r?.subtype ?? null,
    terminal_reason: end.kind === 'interrupted' && end.reason === 'approval' ? 'awaiting_approval' : (r?.terminal_reason ?? null),
    error: r && r.is_error && end.kind === 'result' ? (r.errors.join('\n') || r.text || r.subtype).slice(0, 4000) : null,
  };
}

/** The system message for a turn that did not simply finish, or undefined. */
export function describeEnd(end: TurnEnd, timeoutS: number): string | undefined {
  switch (end.kind) {
    case 'result':
      return end.result.is_error ? `Turn ended with an error (${end.result.terminal_reason ?? end.result.subtype}): ${(end.result.errors.join('; ') || end.result.text || '').slice(0, 1000)}` : undefined;
    case 'interrupted':
      return end.reason === 'timeout' ? `Turn stopped: it ran longer than its ${timeoutS} s time limit (timeout_s).` : REASON_TEXT[end.reason];
    case 'failed':
      return `Turn failed: ${end.message.slice(0, 2000)}`;
    default: {
      const never: never = end;
      return never;
    }
  }
}

export function emptyOutcome(status: TurnOutcome['status'], error: string | null = null): TurnOutcome {
  return { status, cost_usd: null, input_tokens: null, output_tokens: null, num_turns: null, duration_ms: null, is_error: null, subtype: null, terminal_reason: null, error };
}
