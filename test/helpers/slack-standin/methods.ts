/**
 * The Web API method table of the Slack stand-in: which token each method takes, and the
 * non-chat methods (auth, conversations, files, users, apps.connections.open).
 */
import crypto from 'node:crypto';
import { CHAT_METHODS, err, postableChannel, threadRoot, type Handler, type MethodContext } from './chat.ts';
import type { StoredFile } from './store.ts';
import type { ApiResult } from './types.ts';
import { bool, jsonField, MAX_TEXT, str } from './validate.ts';

export type { MethodContext } from './chat.ts';

const authTest: Handler = (_p, { id, url }) => ({
  ok: true, url: `${url}/`, team: id.teamName, team_id: id.teamId, user: id.botName, user_id: id.botUserId, bot_id: id.botId, is_enterprise_install: false,
});

const replies: Handler = (p, ctx) => {
  const channel = str(p.channel);
  if (!channel || !ctx.store.channel(channel)) return err('channel_not_found');
  const ts = str(p.ts);
  if (!ts) return err('invalid_arguments', 'missing required field: ts');
  const m = ctx.store.find(channel, ts);
  if (!m) return err('thread_not_found');
  // Metadata is only returned when asked for, as on Slack.
  const all = ctx.store.threadOf(m).map((x) => ctx.store.view(x, { metadata: bool(p.include_all_metadata) }));
  const limit = Math.min(Math.max(Number(str(p.limit) ?? 1000) || 1000, 1), 1000);
  let start = 0;
  const cursor = str(p.cursor);
  if (cursor) {
    const at = /^next_ts:(\d+)$/.exec(Buffer.from(cursor, 'base64').toString());
    if (!at) return err('invalid_cursor');
    start = Number(at[1]);
  }
  const messages = all.slice(start, start + limit);
  const hasMore = start + limit < all.length;
  return {
    ok: true, messages, has_more: hasMore,
    ...(hasMore ? { response_metadata: { next_cursor: Buffer.from(`next_ts:${start + limit}`).toString('base64') } } : {}),
  };
};

/** The channel's top-level messages, newest first, from `oldest` on (as Slack: replies are not listed). */
const history: Handler = (p, ctx) => {
  const channel = str(p.channel);
  if (!channel || !ctx.store.channel(channel)) return err('channel_not_found');
  const oldest = Number(str(p.oldest) ?? 0) || 0;
  const limit = Math.min(Math.max(Number(str(p.limit) ?? 100) || 100, 1), 1000);
  const top = ctx.store.list(channel).filter((m) => (!m.thread_ts || m.thread_ts === m.ts) && Number(m.ts) >= oldest);
  const messages = top.reverse().slice(0, limit).map((x) => ctx.store.view(x, { metadata: bool(p.include_all_metadata) }));
  return { ok: true, messages, has_more: top.length > limit };
};

const conversationsInfo: Handler = (p, ctx) => {
  const c = ctx.store.channel(str(p.channel) ?? '');
  if (!c) return err('channel_not_found');
  const kind = c.id[0];
  return {
    ok: true,
    channel: { id: c.id, name: c.name, is_channel: kind === 'C', is_group: kind === 'G', is_im: kind === 'D', is_private: kind !== 'C', is_member: c.isMember },
  };
};

const usersInfo: Handler = (p, ctx) => {
  const u = ctx.store.user(str(p.user) ?? '');
  if (!u) return err('user_not_found');
  return {
    ok: true,
    user: {
      id: u.id, team_id: ctx.id.teamId, name: u.name, real_name: u.realName, is_bot: u.isBot, deleted: false, tz: 'UTC',
      profile: { display_name: u.name, real_name: u.realName, ...(u.isBot ? { bot_id: ctx.id.botId } : {}) },
    },
  };
};

const getUploadUrl: Handler = (p, ctx) => {
  // Slack refuses this one call as JSON ("missing required field" though both are there).
  if (ctx.json) return err('invalid_arguments', 'missing required field: filename');
  const filename = str(p.filename);
  if (!filename) return err('invalid_arguments', 'missing required field: filename');
  const length = Number(str(p.length));
  if (!Number.isInteger(length) || length < 1) return err('invalid_arguments', 'missing required field: length');
  const f: StoredFile = {
    id: ctx.store.nextFileId(), name: filename, title: filename, declaredLength: length, uploadKey: crypto.randomBytes(12).toString('hex'), completed: false,
  };
  ctx.store.files.set(f.id, f);
  return { ok: true, upload_url: `${ctx.url}/upload/v1/${f.uploadKey}`, file_id: f.id };
};

const completeUpload: Handler = (p, ctx) => {
  const parsed = jsonField(p.files);
  const list = parsed.ok && Array.isArray(parsed.value) ? (parsed.value as unknown[]) : [];
  const wanted = list.filter((x): x is { id: string; title?: string } => typeof x === 'object' && x !== null && typeof (x as { id?: unknown }).id === 'string');
  if (!wanted.length || wanted.length !== list.length) return err('invalid_arguments', 'files must be a non-empty array of {id, title}');
  const files: StoredFile[] = [];
  for (const w of wanted) {
    const f = ctx.store.files.get(w.id);
    // A file whose bytes never reached the upload URL cannot be completed.
    if (!f?.bytes) return err('file_not_found');
    files.push(f);
  }
  const channelId = str(p.channel_id) ?? str(p.channels)?.split(',')[0];
  const comment = str(p.initial_comment);
  if (comment && comment.length > MAX_TEXT) return err('msg_too_long');
  let channel: string | undefined;
  let rootTs: string | undefined;
  if (channelId) {
    const ch = postableChannel(ctx, channelId);
    if ('ok' in ch) return ch;
    channel = ch.channel;
    const threadTs = str(p.thread_ts);
    if (threadTs) {
      const root = threadRoot(ctx, channel, threadTs);
      if (!root) return err('thread_not_found');
      rootTs = root.ts;
    }
  }
  files.forEach((f, i) => {
    f.title = wanted[i]!.title ?? f.title;
    f.completed = true;
  });
  if (channel) {
    // Shared into the conversation as one message carrying the files, as Slack shows an upload.
    const m = ctx.store.botMessage(channel, ctx.store.nextTs());
    m.text = comment ?? '';
    m.files = files.map((f) => ctx.store.sharedFile(f));
    if (rootTs) Object.assign(m, { thread_ts: rootTs, parent_user_id: ctx.store.find(channel, rootTs)?.user });
    ctx.store.add(m);
  }
  return { ok: true, files: files.map((f) => ({ ...ctx.store.sharedFile(f), ...(channel ? { channels: [channel] } : {}) })) };
};

const connectionsOpen: Handler = (_p, ctx) => ({ ok: true, url: ctx.openSocket() });

export interface MethodSpec {
  /** Which token Slack wants: the bot token (xoxb) or the app-level token (xapp). */
  token: 'bot' | 'app';
  run: Handler;
}

export const METHODS: Record<string, MethodSpec> = {
  'auth.test': { token: 'bot', run: authTest },
  'conversations.replies': { token: 'bot', run: replies },
  'conversations.history': { token: 'bot', run: history },
  'conversations.info': { token: 'bot', run: conversationsInfo },
  'users.info': { token: 'bot', run: usersInfo },
  'files.getUploadURLExternal': { token: 'bot', run: getUploadUrl },
  'files.completeUploadExternal': { token: 'bot', run: completeUpload },
  'apps.connections.open': { token: 'app', run: connectionsOpen },
  ...Object.fromEntries(Object.entries(CHAT_METHODS).map(([k, run]) => [k, { token: 'bot' as const, run }])),
};

/** Slack's token check: none → not_authed, the other kind → not_allowed_token_type, unknown → invalid_auth. */
export function checkToken(spec: MethodSpec, token: string | undefined, ctx: Pick<MethodContext, 'id'>): ApiResult | undefined {
  if (!token) return err('not_authed');
  const want = spec.token === 'bot' ? ctx.id.botToken : ctx.id.appToken;
  const other = spec.token === 'bot' ? ctx.id.appToken : ctx.id.botToken;
  if (token === want) return undefined;
  if (token === other) return err('not_allowed_token_type');
  return err('invalid_auth');
}
