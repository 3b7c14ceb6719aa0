/**
 * Settling turns the runner could not finish normally: those left by the previous
 * server (start-up recovery) and one whose run hit an error it could not handle
 * (a database error, most likely), so neither stays "running".
 */
import type { Kysely } from 'kysely';
import type { DB } from '../db/schema.ts';
import { failPreparingWorkspaces, failRunningTurn, insertTurnsForUnrunMessages, requeueRunningTurn, resetTurnStates, turnStatus, type TurnRow } from '../db/queries/turns.ts';
import type { Logger } from '../logger.ts';
import type { SessionService } from '../sessions/service.ts';
import { turnMarker } from './claude-env.ts';
import { emptyOutcome } from './outcome.ts';
import { killByEnv } from './spawn.ts';

/**
 * Start-up recovery of a process that knows it is alone on its database (the embedded default, held
 * by its data-folder lock): what waits is queued again by the reconciler, what ran is reported by
 * the retries of its jobs (TurnQueue.failActive), and the rest is put right here.
 */
export async function recoverAlone(deps: { db: Kysely<DB>; sessions: SessionService; logger: Logger }): Promise<void> {
  await recoverWrites(deps, { failPreparing: 'all' });
  await resetTurnStates(deps.db);
}

/**
 * Start-up recovery beside other processes: only what is safe whatever they are doing: turns for
 * messages acknowledged without one, and preparations whose process is gone (src/db/presence.ts).
 */
export async function recoverShared(deps: { db: Kysely<DB>; sessions: SessionService; logger: Logger }): Promise<void> {
  await recoverWrites(deps, { failPreparing: 'orphaned' });
}

/**
 * A turn whose runner is gone (its job's retry or the reconciler found it running). Not launched:
 * Claude Code never started, so it is queued again. Launched: it may have run tools and reached the
 * model, so it is never run again but marked interrupted, with a system message. Each write is
 * conditional on the turn still running, so two processes settling it at once settle it once.
 */
export async function settleAbandonedTurn(deps: { db: Kysely<DB>; sessions: SessionService; log: Logger }, t: TurnRow): Promise<'requeued' | 'interrupted' | 'none'> {
  const { db, sessions } = deps;
  // Its process should have died with its runner (pdeathsig); tools that left its process group are
  // found by the marker in their environment, never by a stored pid, which may be reused.
  killByEnv('CCO_TURN', turnMarker(t.session_id, t.id));
  if (!t.launched_at) {
    const requeued = await requeueRunningTurn(db, t.id);
    if (requeued) deps.log.info({ turnId: t.id, sessionId: t.session_id }, 'turn of a lost runner had not started; queued again');
    return requeued ? 'requeued' : 'none';
  }
  const outcome = emptyOutcome('interrupted', 'the process running the turn stopped');
  // The turn's end and its notice in one transaction: whoever sees it interrupted finds the notice.
  const notice = await sessions.addMessageIf(
    t.session_id,
    {
      direction: 'system',
      content: 'The turn was interrupted because the process running it stopped (restart or crash). Send a message to continue.',
      source: 'api',
      metadata: { turn_id: t.id, reason: 'server_restart' },
    },
    (tx) => failRunningTurn(tx, t.id, outcome),
  );
  if (!notice) return 'none';
  await sessions.recordTurnTotals(t.session_id, outcome);
  deps.log.warn({ turnId: t.id, sessionId: t.session_id }, 'turn of a lost runner marked interrupted');
  return 'interrupted';
}

/**
 * What a crash between writes (or an older version) left: workspaces that were being prepared
 * (their preparation died with the server) and user messages that were acknowledged without a turn.
 */
async function recoverWrites(deps: { db: Kysely<DB>; sessions: SessionService; logger: Logger }, opts: { failPreparing: 'all' | 'orphaned' }): Promise<void> {
  await failOrphanedPreparations(deps, opts.failPreparing === 'orphaned');
  const queued = await insertTurnsForUnrunMessages(deps.db);
  if (queued.length > 0) deps.logger.warn({ turns: queued.map((t) => Number(t.id)) }, 'queued turns for user messages stored without one');
}

/** Preparations whose process stopped (all of them when `onlyOrphaned` is false) end as failed, with a system message. */
export async function failOrphanedPreparations(deps: { db: Kysely<DB>; sessions: SessionService; logger: Logger }, onlyOrphaned: boolean): Promise<void> {
  const failed = await failPreparingWorkspaces(deps.db, { code: 'server_restart', message: 'the server stopped while the workspace was being prepared' }, { onlyOrphaned });
  for (const sessionId of failed) {
    await deps.sessions.addMessage(sessionId, {
      direction: 'system',
      content: 'The workspace could not be prepared because the server stopped while it was being made. Start a new session.',
      source: 'api',
      metadata: { reason: 'workspace_failed', error_code: 'server_restart' },
    });
  }
  if (failed.length > 0) deps.logger.warn({ sessions: failed }, 'workspaces left preparing by a stopped process marked failed');
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
