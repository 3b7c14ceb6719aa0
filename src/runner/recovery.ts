/**
 * Settling turns the runner could not finish normally: those left by the previous
 * server (start-up recovery) and one whose run hit an error it could not handle
 * (a database error, most likely), so neither stays "running".
 */
import type { Kysely } from 'kysely';
import type { DB } from '../db/schema.ts';
import { failPreparingWorkspaces, failRunningTurn, finishTurn, insertTurnsForUnrunMessages, listOpenTurns, listPausedManagedSessionIds, requeueTurn, resetTurnStates, turnStatus } from '../db/queries/turns.ts';
import type { Logger } from '../logger.ts';
import type { SessionService } from '../sessions/service.ts';
import { turnMarker } from './claude-env.ts';
import { emptyOutcome } from './outcome.ts';
import type { Scheduler } from './scheduler.ts';
import { killByEnv } from './spawn.ts';

/** Recovers from the previous run (crash or not): queues what waits, settles what ran. */
export async function recoverTurns(deps: { db: Kysely<DB>; sessions: SessionService; scheduler: Scheduler; logger: Logger }): Promise<void> {
  const { db, sessions, scheduler } = deps;
  await recoverWrites(deps);
  for (const t of await listOpenTurns(db)) {
    if (t.status === 'running') {
      // Its process died with the old server (pdeathsig); its tools may not have. They are
      // found by the marker in their environment, never by the stored pid, which may be reused.
      killByEnv('CCO_TURN', turnMarker(t.session_id, t.id));
      if (!t.init_at) {
        // Claude Code never reported the turn's start, so its prompt is not in the
        // transcript and nothing ran: run the turn again rather than lose the prompt.
        await requeueTurn(db, t.id);
        scheduler.add({ turnId: t.id, sessionId: t.session_id });
        continue;
      }
      await sessions.addMessage(t.session_id, {
        direction: 'system',
        content: 'The turn was interrupted because the server stopped while it ran. Send a message to continue.',
        source: 'api',
        metadata: { turn_id: t.id, reason: 'server_restart' },
      });
      const outcome = emptyOutcome('interrupted', 'server stopped while the turn ran');
      await finishTurn(db, t.id, outcome);
      await sessions.recordTurnTotals(t.session_id, outcome);
    } else {
      scheduler.add({ turnId: t.id, sessionId: t.session_id });
    }
  }
  for (const id of await listPausedManagedSessionIds(db)) scheduler.hold(id);
  await resetTurnStates(db);
}

/**
 * What a crash between writes (or an older version) left: workspaces that were being prepared
 * (their preparation died with the server) and user messages that were acknowledged without a turn.
 */
async function recoverWrites(deps: { db: Kysely<DB>; sessions: SessionService; logger: Logger }): Promise<void> {
  const failed = await failPreparingWorkspaces(deps.db, { code: 'server_restart', message: 'the server stopped while the workspace was being prepared' });
  for (const sessionId of failed) {
    await deps.sessions.addMessage(sessionId, {
      direction: 'system',
      content: 'The workspace could not be prepared because the server stopped while it was being made. Start a new session.',
      source: 'api',
      metadata: { reason: 'workspace_failed', error_code: 'server_restart' },
    });
  }
  const queued = await insertTurnsForUnrunMessages(deps.db);
  if (queued.length > 0) deps.logger.warn({ turns: queued.map((t) => Number(t.id)) }, 'queued turns for user messages stored without one');
  if (failed.length > 0) deps.logger.warn({ sessions: failed }, 'workspaces left preparing by the previous run marked failed');
}

/**
 * The turn could not be run or recorded: it ends as failed with a system message, and
 * `settleTurnState` makes the session idle (or queued) for its next message. Each write is
 * retried for a few seconds; if the database stays away, start-up recovery settles the turn.
 */
export async function recordFailedTurn(
  deps: { db: Kysely<DB>; sessions: SessionService; log: Logger },
  turnId: number,
  sessionId: string,
  err: unknown,
  settleTurnState: () => Promise<void>,
): Promise<void> {
  const { db, sessions, log } = deps;
  log.error({ err }, 'turn failed: internal error');
  killByEnv('CCO_TURN', turnMarker(sessionId, turnId)); // in case Claude Code had started
  try {
    if ((await retry(() => turnStatus(db, turnId))) === 'running') {
      // The notice goes first, as for every other outcome: whoever sees the turn end finds it.
      await retry(() => sessions.addMessage(sessionId, {
        direction: 'system',
        content: 'Turn failed: the orchestrator hit an internal error while running it (details are in the server log). Send a message to try again.',
        source: 'api',
        metadata: { turn_id: turnId, outcome: 'error', reason: 'internal_error' },
      }));
      // The stored error stays generic: the cause (SQL, paths) belongs in the server log only.
      const failed = await retry(() => failRunningTurn(db, turnId, emptyOutcome('error', 'internal error while running the turn (see the server log)')));
      if (failed) {
        await retry(() => sessions.recordTurnTotals(sessionId, emptyOutcome('error')));
        await retry(() => sessions.update(sessionId, { status: 'error' }, { onlyFrom: 'active' }));
      }
    }
    await retry(settleTurnState);
  } catch (e: unknown) {
    log.error({ err: e }, 'the failed turn could not be recorded; start-up recovery will settle it');
  }
}

/** Runs `fn`, retrying a failure a few times with growing pauses (about 4 s in all). */
async function retry<T>(fn: () => Promise<T>, attempts = 5): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await fn();
    } catch (e: unknown) {
      if (i >= attempts) throw e;
      await new Promise((r) => setTimeout(r, 250 * 2 ** (i - 1)));
    }
  }
}
