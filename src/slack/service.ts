/**
 * What Slack users ask for, done through SessionCommands as a key holder: the Slack user acts as
 * the key they are mapped to (`cco slack map`, SLACK_USER_MAP), or as user `slack:<id>`; the same
 * rules, owners and audit entries as the API. Requests are kept in slack_inbox first (keyed by
 * Slack's id for them, so retries and duplicate deliveries do nothing) and processed from there;
 * one a process left half done is taken up again by another after its lease.
 */
import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import type { AuditLog } from '../audit/audit-log.ts';
import type { AuthService } from '../auth/service.ts';
import type { Principal } from '../auth/principal.ts';
import type { Database } from '../db/database.ts';
import {
  abandonedInbound, acceptInbound, channelDefaults, claimInbound, deleteThread, enqueueOutbox, finishInbound, insertThread, mappedKeyName, pruneInbound,
  pruneOutbox, setChannelDefaults, threadByInboxKey, threadBySession, threadByTs, type NewOutboxRow,
} from '../db/queries/slack.ts';
import { AppError } from '../lib/errors.ts';
import type { Logger } from '../logger.ts';
import type { CreateSessionCommand, SessionCommands } from '../runner/session-commands.ts';
import type { SessionService } from '../sessions/service.ts';
import { slackAllowed, type SlackConfig } from './config.ts';
import { HELP, parseCommand, parseReply, startFrom, type StartOptions } from './parse.ts';
import { APPROVAL_ACTIONS, headPost, notice, sessionLink } from './render.ts';
import type { ApprovalService } from '../approvals/service.ts';

/** A request as stored in the inbox. */
export type Inbound =
  | { type: 'command'; team: string; channel: string; user: string; text: string }
  | { type: 'message'; team: string; channel: string; channelType: string; user: string; text: string; ts: string; threadTs?: string | undefined; mentioned: boolean };

const LEASE_MS = 60_000;
const RECOVER_EVERY_MS = 15_000;
const KEEP_INBOX_S = 3600;
const KEEP_SENT_POSTS_S = 7 * 86_400;

export class SlackService {
  readonly #inFlight = new Set<Promise<void>>();
  #timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly deps: {
      database: Database;
      commands: SessionCommands;
      sessions: SessionService;
      auth: AuthService;
      authMode: 'keys' | 'off';
      audit: AuditLog;
      config: SlackConfig;
      logger: Logger;
      /** Something was queued in the outbox. */
      onQueued: () => void;
      approvals?: ApprovalService | undefined;
    },
  ) {}

  start(): void {
    if (this.#timer) return;
    this.#timer = setInterval(() => void this.recover(), RECOVER_EVERY_MS);
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    await Promise.allSettled([...this.#inFlight]);
  }

  allowed(who: { team: string; channel: string; user: string }): boolean {
    return slackAllowed(this.deps.config.access, who);
  }

  /**
   * Keeps a request and processes it in the background; false when Slack's id for it was seen
   * before (a retry or a duplicate delivery), in which case nothing happens.
   */
  async accept(key: string, inbound: Inbound): Promise<boolean> {
    const fresh = await acceptInbound(this.deps.database.db, { key, kind: inbound.type, payload: inbound });
    if (fresh) this.#track(this.process(key));
    return fresh;
  }

  /** Requests another process left unfinished (it stopped mid-way); old inbox entries and sent posts out. */
  async recover(): Promise<void> {
    try {
      for (const key of await abandonedInbound(this.deps.database.db, LEASE_MS, 20)) await this.process(key);
      await pruneInbound(this.deps.database.db, KEEP_INBOX_S);
      await pruneOutbox(this.deps.database.db, KEEP_SENT_POSTS_S);
    } catch (e: unknown) {
      this.deps.logger.warn({ err: e }, 'slack: inbox recovery failed');
    }
  }

  /** Waits until requests being processed here are done (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.#inFlight.size > 0) await Promise.allSettled([...this.#inFlight]);
  }

  async process(key: string): Promise<void> {
    const claimed = await claimInbound(this.deps.database.db, key, LEASE_MS);
    if (!claimed) return;
    const inbound = claimed.payload as unknown as Inbound;
    const log = this.deps.logger.child({ slackEvent: key, user: inbound.user, channel: inbound.channel });
    let error: string | undefined;
    try {
      if (inbound.type === 'command') await this.#start(key, inbound, undefined);
      else await this.#message(key, inbound);
    } catch (e: unknown) {
      error = e instanceof AppError ? `${e.code}: ${e.message}` : 'internal error';
      if (e instanceof AppError) log.info({ code: e.code }, `slack request refused: ${e.message}`);
      else log.error({ err: e }, 'slack request failed');
      await this.#tell(inbound, e instanceof AppError ? e.message : 'Something went wrong on the orchestrator; the server log has the details.').catch(() => {});
    }
    await finishInbound(this.deps.database.db, key, error);
  }

  /** `/claude status|stop|config|help`, answered in the command's acknowledgement; undefined for a start. */
  async quickCommand(c: { team: string; channel: string; user: string; text: string }): Promise<string | undefined> {
    const cmd = parseCommand(c.text);
    switch (cmd.kind) {
      case 'start':
        return undefined;
      case 'help':
        return HELP;
      case 'invalid':
        return `:warning: ${cmd.message}\n\n${HELP}`;
      case 'status':
        return this.#status(await this.principalFor(c.user));
      case 'stop': {
        const who = await this.principalFor(c.user);
        const id = await this.#resolveSessionId(who, cmd.id);
        await this.#checkStarter(who, c.user, id);
        await this.deps.commands.update(who, id, { status: 'paused' }, { requestId: `slack:${c.user}` });
        return `Stopped session <${sessionLink(this.deps.config.publicUrl, id)}|${id.slice(0, 8)}>.`;
      }
      case 'config': {
        const who = await this.principalFor(c.user);
        if (cmd.clear || Object.keys(cmd.options).length > 0) {
          if (who.role !== 'admin') return ':no_entry: Only admins (Slack users mapped to an admin key) may set a channel\'s defaults.';
          const options = cmd.clear ? {} : cmd.options;
          await setChannelDefaults(this.deps.database.db, c.team, c.channel, options, who.name);
          this.deps.audit.record({ actor: who, requestId: `slack:${c.user}`, action: 'slack.channel_configured', target: `slack:${c.team}/${c.channel}`, detail: { options } });
        }
        const now = (await channelDefaults(this.deps.database.db, c.team, c.channel)) ?? {};
        const shown = Object.entries(now).map(([k, v]) => `\`${k}=${String(v)}\``).join(' ');
        return `Defaults for sessions started in this channel: ${shown || 'none'}`;
      }
    }
  }

  /** Who a Slack user acts as. */
  async principalFor(user: string): Promise<Principal> {
    const name = (await mappedKeyName(this.deps.database.db, user)) ?? this.deps.config.userMap.get(user);
    if (name === undefined) return { keyId: undefined, name: `slack:${user}`, role: 'user', owner: `slack:${user}` };
    const p = await this.deps.auth.principalForName(name);
    if (p) return p;
    if (this.deps.authMode === 'off') return { keyId: undefined, name, role: 'user', owner: name };
    throw new AppError('slack_key_missing', `You are mapped to the orchestrator key "${name}", but no live admin or user key has that name; ask an admin to fix the mapping (cco slack map).`, 403);
  }

  async #message(key: string, m: Extract<Inbound, { type: 'message' }>): Promise<void> {
    const thread = m.threadTs ? await threadByTs(this.deps.database.db, m.channel, m.threadTs) : undefined;
    if (thread) return this.#reply(key, m, thread);
    // Not a thread we follow: only a mention or a direct message starts one.
    if (m.mentioned || m.channelType === 'im') return this.#start(key, m, m.threadTs ?? m.ts);
  }

  async #start(key: string, inb: Inbound, threadTs: string | undefined): Promise<void> {
    const who = await this.principalFor(inb.user);
    const cmd = inb.type === 'command' ? parseCommand(inb.text) : startFrom(inb.text);
    if (cmd.kind === 'invalid') throw new AppError('invalid_request', cmd.message, 400);
    if (cmd.kind !== 'start') return;
    const defaults = ((await channelDefaults(this.deps.database.db, inb.team, inb.channel)) ?? {}) as StartOptions;
    // A workspace given in the request replaces the channel's; the mode is separate.
    const givesPlace = cmd.options.repo ?? cmd.options.path ?? cmd.options.worktree;
    const options: StartOptions = givesPlace ? { ...(defaults.mode ? { mode: defaults.mode } : {}), ...cmd.options } : { ...defaults, ...cmd.options };
    let thread = await threadByInboxKey(this.deps.database.db, key);
    if (!thread) {
      // The thread and its head post first (held until the session exists): the session's first
      // event already finds its thread, and a retry of this request finds this session's id.
      thread = await this.deps.database.db.transaction().execute(async (tx) => {
        const t = await insertThread(tx, { session_id: randomUUID(), team_id: inb.team, channel_id: inb.channel, thread_ts: threadTs ?? null, starter_user_id: inb.user, inbox_key: key });
        if (!t) throw new AppError('conflict', 'this request is being processed already', 409);
        const post = headPost({ sessionId: t.session_id, publicUrl: this.deps.config.publicUrl, starter: inb.user, prompt: cmd.prompt, status: 'queued', turns: 1 });
        const head: NewOutboxRow = { thread_id: t.id, channel_id: inb.channel, kind: 'head', payload: { post, thread_ts: threadTs ?? null }, dedupe_key: `head:${t.id}` };
        await enqueueOutbox(tx, [head]);
        await tx.updateTable('slack_outbox').set({ state: 'held' }).where('dedupe_key', '=', `head:${t.id}`).execute();
        await tx.updateTable('slack_threads').set({ status_line: 'queued' }).where('id', '=', t.id).execute();
        return t;
      });
    }
    const exists = await this.deps.sessions.get(thread.session_id).then(() => true, () => false);
    if (!exists) {
      try {
        await this.deps.commands.create(who, this.#createCommand(thread.session_id, cmd.prompt, options, inb), { requestId: key });
      } catch (e: unknown) {
        await deleteThread(this.deps.database.db, thread.id);
        throw e;
      }
    }
    await this.deps.database.db.updateTable('slack_outbox').set({ state: 'pending' }).where('thread_id', '=', thread.id).where('state', '=', 'held').execute();
    this.deps.onQueued();
  }

  #createCommand(id: string, prompt: string, o: StartOptions, inb: Inbound): CreateSessionCommand {
    const place: Partial<CreateSessionCommand> = o.repo
      ? { project_type: 'github', repo_url: o.repo, ref: o.ref }
      : o.worktree
        ? { project_type: 'worktree', base_repo: o.worktree, ref: o.ref }
        : { project_type: 'local', project_path: o.path };
    const via = inb.type === 'command' ? 'command' : inb.channelType === 'im' ? 'dm' : 'mention';
    return {
      id,
      ...place,
      project_type: place.project_type!,
      source: 'slack',
      prompt,
      permission_mode: o.mode as CreateSessionCommand['permission_mode'],
      metadata: { slack: { team: inb.team, channel: inb.channel, user: inb.user, via, prompt: prompt.slice(0, 500) } },
    };
  }

  async #reply(key: string, m: Extract<Inbound, { type: 'message' }>, thread: { id: number; session_id: string; starter_user_id: string }): Promise<void> {
    const who = await this.principalFor(m.user);
    const r = parseReply(m.text);
    const origin = { requestId: key };
    if (r.kind === 'stop' || r.kind === 'done') {
      await this.#checkStarter(who, m.user, thread.session_id);
      await this.deps.commands.update(who, thread.session_id, { status: r.kind === 'stop' ? 'paused' : 'completed' }, origin);
      const said = r.kind === 'stop' ? `Stopped by <@${m.user}>. Reply to continue.` : `Closed by <@${m.user}>.`;
      await enqueueOutbox(this.deps.database.db, [{ thread_id: thread.id, channel_id: m.channel, kind: 'post', payload: { post: { text: said } }, dedupe_key: `said:${key}` }]);
      this.deps.onQueued();
      return;
    }
    if (!r.text) return;
    // Processed before, up to the message (a crash after it): do not post it twice.
    const seen = await this.deps.database.db
      .selectFrom('session_messages')
      .select('id')
      .where('session_id', '=', thread.session_id)
      .where(sql<string>`metadata->'slack'->>'event'`, '=', key)
      .executeTakeFirst();
    if (seen) return;
    const session = await this.deps.sessions.get(thread.session_id);
    if (session.status === 'paused') await this.deps.commands.update(who, thread.session_id, { status: 'active' }, origin);
    await this.deps.commands.postMessage(who, thread.session_id, { direction: 'user', content: r.text, source: 'slack', metadata: { slack: { user: m.user, ts: m.ts, event: key } } }, origin);
  }

  /** Only the thread's starter or an admin may stop or close a session started from Slack. */
  async #checkStarter(who: Principal, user: string, sessionId: string): Promise<void> {
    if (who.role === 'admin') return;
    const t = await threadBySession(this.deps.database.db, sessionId);
    if (t && t.starter_user_id !== user) throw new AppError('forbidden', 'Only the person who started this session, or an admin, may stop or close it.', 403);
  }

  async #resolveSessionId(who: Principal, ref: string): Promise<string> {
    const clean = ref.trim().toLowerCase();
    if (!/^[0-9a-f-]{8,36}$/.test(clean)) throw new AppError('invalid_request', `"${ref.slice(0, 40)}" is not a session id (see \`/claude status\`)`, 400);
    let q = this.deps.database.db.selectFrom('sessions').select('id').where(sql<string>`id::text`, 'like', `${clean}%`);
    if (who.role !== 'admin') q = q.where('owner', '=', who.owner);
    const rows = await q.limit(2).execute();
    if (rows.length === 0) throw new AppError('not_found', `no session of yours starts with ${clean}`, 404);
    if (rows.length > 1) throw new AppError('ambiguous', `${clean} matches several sessions; give more of the id`, 409);
    return rows[0]!.id;
  }

  async #status(who: Principal): Promise<string> {
    const rows = await this.deps.database.db
      .selectFrom('sessions')
      .select(['id', 'turn_state', 'metadata', 'created_at'])
      .where('owner', '=', who.owner)
      .where('status', '<>', 'completed')
      .where('turn_state', 'in', ['queued', 'running'])
      .orderBy('created_at', 'desc')
      .limit(20)
      .execute();
    if (rows.length === 0) return 'You have no queued or running sessions.';
    const lines = rows.map((r) => {
      const prompt = String((r.metadata.slack as { prompt?: string } | undefined)?.prompt ?? '').slice(0, 80);
      return `• <${sessionLink(this.deps.config.publicUrl, r.id)}|${r.id.slice(0, 8)}> ${r.turn_state}${prompt ? ` · ${notice(prompt).text}` : ''}`;
    });
    return `Your sessions (${rows.length}):\n${lines.join('\n')}`;
  }

  /**
   * An approval button: the Slack user decides as the key they map to (the same rules as the API:
   * owner, admin or a named approver; the first answer wins). The decision's post in the thread
   * comes from the follower; a refusal or a late press is told to the presser only.
   */
  async decideApproval(b: { user: string; channel: string; threadTs: string | undefined; approvalId: string; actionId: string }): Promise<void> {
    const tell = async (text: string) => {
      await enqueueOutbox(this.deps.database.db, [{ thread_id: null, channel_id: b.channel, kind: 'ephemeral', payload: { user: b.user, post: notice(text), thread_ts: b.threadTs ?? null }, dedupe_key: null }]);
      this.deps.onQueued();
    };
    if (!this.deps.approvals) return tell(':warning: Approvals are not handled by this server.');
    const decision = b.actionId === APPROVAL_ACTIONS.deny ? 'deny' : 'allow';
    try {
      const who = await this.principalFor(b.user);
      await this.deps.approvals.decide(who, b.approvalId, { decision, scope: b.actionId === APPROVAL_ACTIONS.session ? 'session' : 'once', reason: decision === 'deny' ? `denied from Slack by <@${b.user}>` : undefined }, 'slack', { requestId: `slack:${b.user}` });
    } catch (e: unknown) {
      if (!(e instanceof AppError)) throw e;
      await tell(e.code === 'already_decided' ? `:information_source: Already decided: ${e.message}.` : e.statusCode === 404 || e.statusCode === 403 ? ':no_entry: You may not decide this request (only the session owner, an admin or an approver its policy names).' : `:warning: ${e.message}`);
    }
  }

  /** Tells the requester why nothing happened: only them (ephemeral), in the thread when there is one. */
  async #tell(inb: Inbound, text: string): Promise<void> {
    const threadTs = inb.type === 'message' ? (inb.threadTs ?? inb.ts) : undefined;
    await enqueueOutbox(this.deps.database.db, [{ thread_id: null, channel_id: inb.channel, kind: 'ephemeral', payload: { user: inb.user, post: notice(`:warning: ${text}`), thread_ts: threadTs ?? null }, dedupe_key: null }]);
    this.deps.onQueued();
  }

  #track(p: Promise<void>): void {
    const t = p.catch((e: unknown) => this.deps.logger.error({ err: e }, 'slack: processing failed')).finally(() => this.#inFlight.delete(t));
    this.#inFlight.add(t);
  }
}
