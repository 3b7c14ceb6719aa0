/**
 * Run and wait: the two POST routes that start turns (a new session with a prompt, a message) with
 * `wait` (answer when the turn ends, or 202 with where to wait again), Idempotency-Key and
 * close_after, and GET /api/sessions/:id/turns/:turn(?wait=N). The turn itself runs wherever the
 * queue sends it; the wait is TurnWaiter's (turns table + event bus), never this process's runner.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { requestOrigin } from '../audit/audit-log.ts';
import type { CreateSessionCommand, PostMessageCommand, SessionCommands } from '../runner/session-commands.ts';
import type { SessionService } from '../sessions/service.ts';
import { FINAL_TURN_STATUSES, type TurnResult, type TurnWaiter } from '../sessions/turn-waiter.ts';
import { badRequest } from '../lib/errors.ts';
import type { Idempotency } from './idempotency.ts';
import { waitLonger } from './timeout.ts';

export interface RunWaitDeps {
  sessions: SessionService;
  commands: SessionCommands;
  waiter: TurnWaiter;
  idempotency: Idempotency;
  /** WAIT_MAX_S. */
  waitMaxS: number;
}

/** The `turn` of an answer given with `wait`: the turn's outcome, and where to wait again while it runs. */
export type WaitedTurn = TurnResult & { wait_url: string | null };

type CreateBody = Omit<CreateSessionCommand, 'id'> & { wait?: number | undefined };
type MessageBody = PostMessageCommand & { wait?: number | undefined };

export class RunWait {
  constructor(private readonly deps: RunWaitDeps) {}

  /** Checks a wait in seconds against WAIT_MAX_S (400 with the field's name). */
  waitSeconds(wait: number | undefined, field: string): number {
    if (wait === undefined) return 0;
    if (!Number.isInteger(wait) || wait < 0 || wait > this.deps.waitMaxS) {
      throw badRequest('invalid_wait', `${field}: a whole number of seconds from 0 to ${this.deps.waitMaxS} (WAIT_MAX_S); got ${wait}`);
    }
    return wait;
  }

  async createSession(req: FastifyRequest, reply: FastifyReply, body: CreateBody): Promise<FastifyReply> {
    const { wait, ...command } = body;
    const waitS = this.waitSeconds(wait, 'body.wait');
    if (waitS > 0 && command.prompt === undefined) throw badRequest('invalid_wait', 'body.wait: needs a prompt (there is no turn to wait for)');
    const begun = await this.deps.idempotency.begin(req, command, { createsSession: true });
    if (begun.kind === 'replay') return replayed(reply).code(begun.status).send(begun.body);
    if (begun.kind === 'made') {
      const session = await this.#session(begun.sessionId);
      if (begun.turnId === undefined) return replayed(reply).code(201).send(session);
      const { ended, turn } = await this.#wait(req, reply, begun.sessionId, begun.turnId, waitS);
      return replayed(reply).code(ended ? 201 : 202).send({ ...(await this.#session(begun.sessionId)), turn });
    }
    const claim = begun.kind === 'new' ? begun.claim : undefined;
    let made: Awaited<ReturnType<SessionCommands['create']>>;
    try {
      made = await this.deps.commands.create(req.principal, { ...command, id: claim?.sessionId }, requestOrigin(req));
    } catch (e: unknown) {
      await claim?.release();
      throw e;
    }
    const sessionId = made.session.id;
    await claim?.made({ sessionId, turnId: made.turn?.id, messageId: null });
    let status = 201;
    let out: unknown = made.turn ? { ...made.session, turn: made.turn } : made.session;
    let gone = false;
    if (waitS > 0 && made.turn) {
      const w = await this.#wait(req, reply, sessionId, made.turn.id, waitS);
      status = w.ended ? 201 : 202;
      gone = w.gone;
      out = { ...(await this.#session(sessionId)), turn: w.turn };
    }
    // A client that left saw nothing: a repeat waits on the turn again instead of replaying a 202.
    if (!gone) await claim?.respond(status, out);
    return reply.code(status).send(out);
  }

  async postMessage(req: FastifyRequest, reply: FastifyReply, sessionId: string, body: MessageBody): Promise<FastifyReply> {
    const { wait, ...command } = body;
    const waitS = this.waitSeconds(wait, 'body.wait');
    const begun = await this.deps.idempotency.begin(req, command, { createsSession: false });
    if (begun.kind === 'replay') return replayed(reply).code(begun.status).send(begun.body);
    if (begun.kind === 'made') {
      const message = begun.messageId === null ? undefined : await this.deps.sessions.getMessage(begun.sessionId, begun.messageId);
      const { ended, turn } = await this.#wait(req, reply, begun.sessionId, begun.turnId!, waitS);
      return replayed(reply).code(ended ? 201 : 202).send({ ...message, turn });
    }
    const claim = begun.kind === 'new' ? begun.claim : undefined;
    let posted: Awaited<ReturnType<SessionCommands['postMessage']>>;
    try {
      if (waitS > 0 && !(await this.#runsTurn(sessionId, command))) {
        throw badRequest('invalid_wait', 'body.wait: only a user message that runs a turn can be waited for');
      }
      posted = await this.deps.commands.postMessage(req.principal, sessionId, command, requestOrigin(req));
    } catch (e: unknown) {
      await claim?.release();
      throw e;
    }
    await claim?.made({ sessionId, turnId: posted.turn?.id, messageId: posted.message.id });
    let status = 201;
    let out: unknown = posted.turn ? { ...posted.message, turn: posted.turn } : posted.message;
    let gone = false;
    if (waitS > 0 && posted.turn) {
      const w = await this.#wait(req, reply, sessionId, posted.turn.id, waitS);
      status = w.ended ? 201 : 202;
      gone = w.gone;
      out = { ...posted.message, turn: w.turn };
    }
    if (!gone) await claim?.respond(status, out);
    return reply.code(status).send(out);
  }

  /** GET /api/sessions/:id/turns/:turn: the turn now, or with `wait` when it ends (202: not yet). */
  async getTurn(req: FastifyRequest, reply: FastifyReply, sessionId: string, turnId: number, wait: number | undefined): Promise<FastifyReply> {
    const waitS = this.waitSeconds(wait, 'querystring.wait');
    if (waitS === 0) {
      const turn = await this.deps.waiter.read(sessionId, turnId);
      return reply.code(200).send({ ...turn, wait_url: FINAL_TURN_STATUSES.includes(turn.status) ? null : this.#waitUrl(sessionId, turnId) });
    }
    const { ended, turn } = await this.#wait(req, reply, sessionId, turnId, waitS);
    return reply.code(ended ? 200 : 202).send(turn);
  }

  /** Waits up to waitS (ending early when the client goes), outside REQUEST_TIMEOUT_MS. */
  async #wait(req: FastifyRequest, reply: FastifyReply, sessionId: string, turnId: number, waitS: number): Promise<{ ended: boolean; turn: WaitedTurn; gone: boolean }> {
    waitLonger(req, waitS * 1000);
    const gone = new AbortController();
    const onClose = () => {
      if (!reply.raw.writableFinished) gone.abort();
    };
    reply.raw.once('close', onClose);
    try {
      const { ended, turn } = await this.deps.waiter.wait(sessionId, turnId, waitS * 1000, gone.signal);
      // Stopping: the connection was busy when the server closed its idle ones, so it must not stay open after this answer.
      if (this.deps.waiter.closing) reply.header('connection', 'close');
      return { ended, turn: { ...turn, wait_url: ended ? null : this.#waitUrl(sessionId, turnId) }, gone: gone.signal.aborted };
    } finally {
      reply.raw.off('close', onClose);
    }
  }

  #waitUrl(sessionId: string, turnId: number): string {
    return `/api/sessions/${sessionId}/turns/${turnId}?wait=${this.deps.waitMaxS}`;
  }

  async #session(id: string) {
    return this.deps.commands.decorate(await this.deps.sessions.get(id));
  }

  /** Whether postMessage will run a turn for this message (SessionCommands decides the same way). */
  async #runsTurn(sessionId: string, m: PostMessageCommand): Promise<boolean> {
    if (m.direction !== 'user') return false;
    return m.run ?? (await this.deps.sessions.get(sessionId)).managed;
  }
}

function replayed(reply: FastifyReply): FastifyReply {
  return reply.header('idempotent-replayed', 'true');
}
