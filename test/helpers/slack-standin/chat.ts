/** The chat.* and reactions.* Web API methods of the Slack stand-in. */
import type { SlackStore, StoredMessage } from './store.ts';
import type { ApiResult, Identity } from './types.ts';
import { hasContent, readContent, str, type Params } from './validate.ts';

export interface MethodContext {
  id: Identity;
  store: SlackStore;
  /** The stand-in's base URL (http://127.0.0.1:port). */
  url: string;
  /** The request body was JSON (some methods refuse it, as Slack does). */
  json: boolean;
  /** Issues a Socket Mode ticket and returns its ws:// URL. */
  openSocket(): string;
}
export type Handler = (p: Params, ctx: MethodContext) => ApiResult;

export const err = (error: string, detail?: string): ApiResult =>
  detail ? { ok: false, error, response_metadata: { messages: [`[ERROR] ${detail}`] } } : { ok: false, error };

/** The channel the bot may post into, or the error Slack gives. */
export function postableChannel(ctx: MethodContext, id: string | undefined): { channel: string } | ApiResult {
  const c = id ? ctx.store.channel(id) : undefined;
  if (!c) return err('channel_not_found');
  if (!c.isMember) return err('not_in_channel');
  return { channel: c.id };
}

/** The root a thread_ts names; a reply's ts leads to its root (the reply lands in the same thread). */
export function threadRoot(ctx: MethodContext, channel: string, ts: string): StoredMessage | undefined {
  const m = ctx.store.find(channel, ts);
  return m?.thread_ts ? ctx.store.find(channel, m.thread_ts) : m;
}

const isErr = (v: object): v is ApiResult => 'ok' in v;

const postMessage: Handler = (p, ctx) => {
  const ch = postableChannel(ctx, str(p.channel));
  if (isErr(ch)) return ch;
  const read = readContent(p);
  if ('result' in read) return read.result;
  const c = read.content;
  if (!hasContent(c)) return err('no_text');
  const threadTs = str(p.thread_ts);
  let root: StoredMessage | undefined;
  if (threadTs) {
    root = threadRoot(ctx, ch.channel, threadTs);
    if (!root) return err('thread_not_found');
  }
  const m = ctx.store.botMessage(ch.channel, ctx.store.nextTs());
  m.text = c.text ?? '';
  if (c.blocks) m.blocks = c.blocks;
  if (c.attachments) m.attachments = c.attachments;
  if (c.metadata) m.metadata = c.metadata;
  if (root) Object.assign(m, { thread_ts: root.ts, parent_user_id: root.user });
  ctx.store.add(m);
  return { ok: true, channel: ch.channel, ts: m.ts, message: ctx.store.view(m, { metadata: true }) };
};

/** The bot's own message at channel+ts, or Slack's error for it. */
function ownMessage(ctx: MethodContext, p: Params, tsField: string, refusal: string): StoredMessage | ApiResult {
  const channel = str(p.channel);
  if (!channel || !ctx.store.channel(channel)) return err('channel_not_found');
  const m = ctx.store.find(channel, str(p[tsField]) ?? '');
  if (!m) return err('message_not_found');
  if (m.bot_id !== ctx.id.botId) return err(refusal);
  return m;
}

const update: Handler = (p, ctx) => {
  const m = ownMessage(ctx, p, 'ts', 'cant_update_message');
  if (isErr(m)) return m;
  const read = readContent(p);
  if ('result' in read) return read.result;
  const c = read.content;
  if (!hasContent(c)) return err('no_text');
  // Fields left out keep their old value; an empty blocks array removes the blocks (Slack's rule).
  if (c.text !== undefined) m.text = c.text;
  if (c.blocks) m.blocks = c.blocks.length ? c.blocks : undefined;
  if (c.attachments) m.attachments = c.attachments.length ? c.attachments : undefined;
  if (c.metadata) m.metadata = c.metadata;
  m.edited = { user: ctx.id.botUserId, ts: ctx.store.nextTs() };
  return { ok: true, channel: m.channel, ts: m.ts, text: m.text, message: ctx.store.view(m, { metadata: true }) };
};

const del: Handler = (p, ctx) => {
  const m = ownMessage(ctx, p, 'ts', 'cant_delete_message');
  if (isErr(m)) return m;
  const hasReplies = !m.thread_ts && ctx.store.threadOf(m).length > 1;
  if (hasReplies) {
    // A thread root with replies stays as a tombstone so the replies keep their parent, as in Slack.
    for (const k of ['blocks', 'attachments', 'files', 'metadata', 'reactions', 'edited'] as const) delete m[k];
    Object.assign(m, { subtype: 'tombstone', text: 'This message was deleted.' });
  } else ctx.store.remove(m);
  return { ok: true, channel: m.channel, ts: m.ts };
};

const postEphemeral: Handler = (p, ctx) => {
  const ch = postableChannel(ctx, str(p.channel));
  if (isErr(ch)) return ch;
  const user = str(p.user);
  if (!user) return err('invalid_arguments', 'missing required field: user');
  if (!ctx.store.user(user)) return err('user_not_found');
  const read = readContent(p);
  if ('result' in read) return read.result;
  const c = read.content;
  if (!hasContent(c)) return err('no_text');
  const threadTs = str(p.thread_ts);
  let root: StoredMessage | undefined;
  if (threadTs) {
    root = threadRoot(ctx, ch.channel, threadTs);
    if (!root) return err('thread_not_found');
  }
  const ts = ctx.store.nextTs();
  ctx.store.ephemeral.push({
    channel: ch.channel, user, ts, text: c.text ?? '', via: 'api', ...(c.blocks ? { blocks: c.blocks } : {}), ...(root ? { thread_ts: root.ts } : {}),
  });
  return { ok: true, message_ts: ts };
};

const getPermalink: Handler = (p, ctx) => {
  const channel = str(p.channel);
  if (!channel || !ctx.store.channel(channel)) return err('channel_not_found');
  const m = ctx.store.find(channel, str(p.message_ts) ?? '');
  if (!m) return err('message_not_found');
  const base = `${ctx.url}/archives/${channel}/p${m.ts.replace('.', '')}`;
  return { ok: true, channel, permalink: m.thread_ts ? `${base}?thread_ts=${m.thread_ts}&cid=${channel}` : base };
};

/** The message a reactions.* call names, and the reaction name, or Slack's error. */
function reactionTarget(p: Params, ctx: MethodContext): { m: StoredMessage; name: string } | ApiResult {
  const channel = str(p.channel);
  if (!channel || !ctx.store.channel(channel)) return err('channel_not_found');
  const m = ctx.store.find(channel, str(p.timestamp) ?? '');
  if (!m) return err('message_not_found');
  const name = str(p.name) ?? '';
  // Slack wants the bare name ("eyes"), not ":eyes:".
  if (!/^[a-z0-9_+'-]+(::skin-tone-\d)?$/.test(name)) return err('invalid_name');
  return { m, name };
}

const reactionsAdd: Handler = (p, ctx) => {
  const t = reactionTarget(p, ctx);
  if (isErr(t)) return t;
  const list = (t.m.reactions ??= []);
  let r = list.find((x) => x.name === t.name);
  if (r?.users.includes(ctx.id.botUserId)) return err('already_reacted');
  if (!r) list.push((r = { name: t.name, users: [], count: 0 }));
  r.users.push(ctx.id.botUserId);
  r.count = r.users.length;
  return { ok: true };
};

const reactionsRemove: Handler = (p, ctx) => {
  const t = reactionTarget(p, ctx);
  if (isErr(t)) return t;
  const list = t.m.reactions ?? [];
  const r = list.find((x) => x.name === t.name);
  if (!r?.users.includes(ctx.id.botUserId)) return err('no_reaction');
  r.users = r.users.filter((u) => u !== ctx.id.botUserId);
  r.count = r.users.length;
  t.m.reactions = list.filter((x) => x.count > 0);
  if (!t.m.reactions.length) delete t.m.reactions;
  return { ok: true };
};

export const CHAT_METHODS: Record<string, Handler> = {
  'chat.postMessage': postMessage,
  'chat.update': update,
  'chat.delete': del,
  'chat.postEphemeral': postEphemeral,
  'chat.getPermalink': getPermalink,
  'reactions.add': reactionsAdd,
  'reactions.remove': reactionsRemove,
};
