/** The Slack stand-in's workspace state: channels, users, messages, threads, ephemerals and files. */
import type { ChannelInfo, EphemeralMessage, Identity, SharedFile, SlackMessage, UserInfo } from './types.ts';

/** A stored message: the API shape without the computed thread fields, plus its channel. */
export interface StoredMessage extends Omit<SlackMessage, 'reply_count' | 'reply_users' | 'reply_users_count' | 'latest_reply' | 'thread_ts'> {
  channel: string;
  /** Set on replies only; a root's thread_ts is computed (Slack shows it once the root has replies). */
  thread_ts?: string;
}

export interface StoredFile {
  id: string;
  name: string;
  title: string;
  /** The length files.getUploadURLExternal was told. */
  declaredLength: number;
  /** The bytes POSTed to the upload URL; undefined until then. */
  bytes?: Buffer;
  /** Opaque part of the upload URL. */
  uploadKey: string;
  completed: boolean;
}

const clone = <T>(v: T): T => structuredClone(v);

/** Text when the bytes are UTF-8 without NULs (what Slack would show as a snippet), else undefined. */
export function textOf(bytes: Buffer): string | undefined {
  if (bytes.includes(0)) return undefined;
  const s = bytes.toString('utf8');
  return Buffer.from(s, 'utf8').equals(bytes) ? s : undefined;
}

export class SlackStore {
  readonly channels = new Map<string, ChannelInfo>();
  readonly users = new Map<string, UserInfo>();
  readonly files = new Map<string, StoredFile>();
  readonly ephemeral: EphemeralMessage[] = [];
  private readonly byChannel = new Map<string, StoredMessage[]>();
  private lastMicros = 0;
  private fileSeq = 0;

  constructor(
    private readonly id: Identity,
    private readonly strictChannels: boolean,
    private readonly baseUrl: () => string,
  ) {
    this.users.set(id.botUserId, { id: id.botUserId, name: id.botName, realName: id.botName, isBot: true });
  }

  /** A fresh ts: microseconds since the epoch, strictly increasing even within one millisecond. */
  nextTs(): string {
    this.lastMicros = Math.max(Date.now() * 1000, this.lastMicros + 1);
    return `${Math.floor(this.lastMicros / 1e6)}.${String(this.lastMicros % 1e6).padStart(6, '0')}`;
  }

  nextFileId(): string {
    this.fileSeq += 1;
    return `F0STANDIN${String(this.fileSeq).padStart(4, '0')}`;
  }

  addChannel(id: string, opts: { name?: string; isMember?: boolean } = {}): ChannelInfo {
    const c = { id, name: opts.name ?? id.toLowerCase(), isMember: opts.isMember ?? true };
    this.channels.set(id, c);
    return c;
  }

  /** The channel, created on first use unless strictChannels (ids starting C, G or D look real enough). */
  channel(id: string): ChannelInfo | undefined {
    const known = this.channels.get(id);
    if (known || this.strictChannels || !/^[CGD][A-Z0-9]+$/.test(id)) return known;
    return this.addChannel(id);
  }

  /** A known user, or one made up for any U…/W… id (the stand-in has no directory to check against). */
  user(id: string): UserInfo | undefined {
    const known = this.users.get(id);
    if (known || !/^[UW][A-Z0-9]+$/.test(id)) return known;
    const u = { id, name: id.toLowerCase(), realName: id, isBot: false };
    this.users.set(id, u);
    return u;
  }

  list(channel: string): StoredMessage[] {
    let l = this.byChannel.get(channel);
    if (!l) this.byChannel.set(channel, (l = []));
    return l;
  }

  find(channel: string, ts: string): StoredMessage | undefined {
    return this.byChannel.get(channel)?.find((m) => m.ts === ts);
  }

  add(m: StoredMessage): StoredMessage {
    this.list(m.channel).push(m);
    return m;
  }

  remove(m: StoredMessage): void {
    const l = this.list(m.channel);
    l.splice(l.indexOf(m), 1);
  }

  /** The thread a message belongs to: root first, then replies in posting order. */
  threadOf(m: StoredMessage): StoredMessage[] {
    const rootTs = m.thread_ts ?? m.ts;
    const l = this.list(m.channel);
    const root = l.find((x) => x.ts === rootTs);
    return [...(root ? [root] : []), ...l.filter((x) => x.thread_ts === rootTs && x.ts !== rootTs)];
  }

  /** The message as the API shows it; the root of a thread gets Slack's computed thread fields. */
  view(m: StoredMessage, opts: { metadata: boolean }): SlackMessage {
    const { channel: _channel, ...rest } = clone(m);
    const out: SlackMessage = rest;
    if (!opts.metadata) delete out.metadata;
    if (!m.thread_ts) {
      const replies = this.list(m.channel).filter((x) => x.thread_ts === m.ts);
      if (replies.length > 0) {
        const users = [...new Set(replies.map((r) => r.user).filter((u): u is string => !!u))];
        Object.assign(out, {
          thread_ts: m.ts, reply_count: replies.length, reply_users: users, reply_users_count: users.length, latest_reply: replies[replies.length - 1]!.ts,
        });
      }
    }
    return out;
  }

  /** A stored file as it appears on a message: content only for text, as a snippet preview would. */
  sharedFile(f: StoredFile): SharedFile {
    const bytes = f.bytes ?? Buffer.alloc(0);
    const content = textOf(bytes);
    return {
      id: f.id, name: f.name, title: f.title, size: bytes.length,
      mimetype: content === undefined ? 'application/octet-stream' : 'text/plain',
      url_private: `${this.baseUrl()}/files/${f.id}/${encodeURIComponent(f.name)}`,
      ...(content === undefined ? {} : { content }),
    };
  }

  /** A bot-authored message skeleton with Slack's identity fields. */
  botMessage(channel: string, ts: string): StoredMessage {
    return { type: 'message', channel, ts, text: '', user: this.id.botUserId, bot_id: this.id.botId, app_id: this.id.appId, team: this.id.teamId };
  }
}
