/** Shapes shared by the Slack stand-in's modules (see ../slack-standin.ts for the entry point). */

/** Who the stand-in's single installed app is. */
export interface Identity {
  botToken: string;
  appToken: string;
  teamId: string;
  teamName: string;
  botUserId: string;
  botId: string;
  botName: string;
  appId: string;
}

export interface SlackReaction {
  name: string;
  users: string[];
  count: number;
}

/** A file as it appears on a message (`files: [...]`). `content` is the uploaded bytes as text when they are text. */
export interface SharedFile {
  id: string;
  name: string;
  title: string;
  size: number;
  mimetype: string;
  url_private: string;
  content?: string;
}

export interface SlackMetadata {
  event_type: string;
  event_payload: Record<string, unknown>;
}

/** A message the way Slack's API shows it (plus nothing the API would not). */
export interface SlackMessage {
  type: 'message';
  subtype?: string;
  ts: string;
  text: string;
  user?: string;
  bot_id?: string;
  app_id?: string;
  team?: string;
  blocks?: unknown[];
  attachments?: unknown[];
  thread_ts?: string;
  parent_user_id?: string;
  reply_count?: number;
  reply_users?: string[];
  reply_users_count?: number;
  latest_reply?: string;
  metadata?: SlackMetadata;
  reactions?: SlackReaction[];
  files?: SharedFile[];
  edited?: { user: string; ts: string };
}

export interface EphemeralMessage {
  channel: string;
  user: string;
  ts: string;
  text: string;
  blocks?: unknown[];
  thread_ts?: string;
  /** 'api' for chat.postEphemeral, 'response_url' for a response_url POST without response_type in_channel. */
  via: 'api' | 'response_url';
}

export interface ChannelInfo {
  id: string;
  name: string;
  /** The bot is in the channel; posting into one it is not in fails with not_in_channel, as on Slack. */
  isMember: boolean;
}

export interface UserInfo {
  id: string;
  name: string;
  realName: string;
  isBot: boolean;
}

/** One HTTP request the stand-in answered (or refused). `status` 0: the connection was destroyed. */
export interface RecordedCall {
  method: string;
  params: Record<string, unknown>;
  status: number;
  ok: boolean;
  error?: string;
  /** Set when an injected fault answered (or dropped) the call. */
  fault?: FaultKind;
  at: number;
}

/** What an injected fault does: 429, 503, drop the connection before acting, or act and then drop it. */
export type FaultKind = 'ratelimited' | '503' | 'reset' | 'reset-after';
export type FailMode = '503' | 'reset' | 'reset-after';

export interface RecordedResponse {
  /** The response URL's id (the last path segment). */
  id: string;
  url: string;
  body: Record<string, unknown>;
  status: number;
  at: number;
}

/** A Web API answer: the JSON body (always HTTP 200 unless a fault intervenes). */
export type ApiResult = { ok: boolean; error?: string } & Record<string, unknown>;
