/**
 * Makes a turn that stops moving visible. Progress is anything Claude Code tells
 * us: a stream message (init, assistant text or tool call, tool result, result)
 * or a hook callback. A turn with none for TURN_STALL_WARN_S gets one system
 * message on its session and a warn log with its ids; it is not stopped (the
 * turn's timeout does that), because a long tool can be legitimately quiet. When
 * progress comes back it is logged, and a later stall is reported again.
 *
 * Why: a resumed turn was once seen waiting 93 s with nothing in the session or
 * the log to say so (issue 9, point 25).
 */
import type { Logger } from '../logger.ts';
import type { SessionService } from '../sessions/service.ts';

export interface StallWatch {
  /** Something happened in the turn. */
  progress(): void;
  stop(): void;
}

export interface StallWatchOptions {
  /** 0 turns the watch off. */
  afterS: number;
  sessions: SessionService;
  log: Logger;
  sessionId: string;
  turnId: number;
  /** What the turn is waiting on, for the notice (e.g. an open tool call). */
  describe?: () => string | undefined;
}

export function watchStall(o: StallWatchOptions): StallWatch {
  if (o.afterS <= 0) return { progress() {}, stop() {} };
  const afterMs = o.afterS * 1000;
  let last = Date.now();
  let stalledSince: number | undefined;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;

  // One timer, re-armed only when it fires: progress itself is just a time stamp.
  const arm = (ms: number) => {
    timer = setTimeout(check, ms);
    timer.unref();
  };
  const check = () => {
    if (stopped) return;
    const idle = Date.now() - last;
    if (idle < afterMs) return arm(afterMs - idle);
    if (stalledSince === undefined) {
      stalledSince = last;
      report(Math.round(idle / 1000));
    }
    arm(afterMs);
  };
  const report = (idleS: number) => {
    const waiting = o.describe?.();
    o.log.warn({ idleS, waiting }, 'turn shows no progress');
    o.sessions
      .addMessage(o.sessionId, {
        direction: 'system',
        content: `The turn has shown no progress for ${idleS} s${waiting ? ` (${waiting})` : ''}. It keeps running until it answers, times out, or is paused.`,
        source: 'api',
        metadata: { turn_id: o.turnId, reason: 'stalled', idle_s: idleS },
      })
      .catch((e: unknown) => o.log.error({ err: e }, 'could not store the stall notice'));
  };
  arm(afterMs);

  return {
    progress() {
      last = Date.now();
      if (stalledSince !== undefined && !stopped) {
        o.log.info({ stalledS: Math.round((last - stalledSince) / 1000) }, 'turn progressing again');
        stalledSince = undefined;
      }
    },
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
  };
}
