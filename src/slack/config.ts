/**
 * The Slack part of the Config: on when SLACK_BOT_TOKEN is set; HTTP (POST /slack/events,
 * signed with SLACK_SIGNING_SECRET) or Socket Mode (SLACK_APP_TOKEN).
 */
import { ConfigError, splitList } from '../settings.ts';

export interface SlackAccess {
  /** Empty list: that dimension is not restricted. */
  teams: string[];
  channels: string[];
  users: string[];
}

export interface SlackConfig {
  /** Only ever given to the Slack client; redacted from logs and stored text (it matches SECRET_NAME). */
  botToken: string;
  signingSecret: string | undefined;
  /** Set: Socket Mode instead of the HTTP endpoint. */
  appToken: string | undefined;
  apiUrl: string;
  access: SlackAccess;
  /** SLACK_USER_MAP: Slack user id → key name (the database's `cco slack map` entries win). */
  userMap: Map<string, string>;
  fileThresholdChars: number;
  /** Dashboard links in posts (PUBLIC_URL). */
  publicUrl: string;
}

interface SlackSettings {
  SLACK_BOT_TOKEN?: string | undefined;
  SLACK_SIGNING_SECRET?: string | undefined;
  SLACK_APP_TOKEN?: string | undefined;
  SLACK_API_URL: string;
  SLACK_ALLOWED_TEAMS?: string | undefined;
  SLACK_ALLOWED_CHANNELS?: string | undefined;
  SLACK_ALLOWED_USERS?: string | undefined;
  SLACK_USER_MAP?: string | undefined;
  SLACK_FILE_THRESHOLD_CHARS: number;
}

const SLACK_USER = /^[UW][A-Z0-9]{2,}$/;

export function slackConfigFrom(c: SlackSettings, publicUrl: string): SlackConfig | undefined {
  if (!c.SLACK_BOT_TOKEN) {
    if (c.SLACK_APP_TOKEN || c.SLACK_SIGNING_SECRET) throw new ConfigError('Invalid configuration:\n  SLACK_BOT_TOKEN: needed when SLACK_SIGNING_SECRET or SLACK_APP_TOKEN is set (the bot posts with it)');
    return undefined;
  }
  if (!c.SLACK_APP_TOKEN && !c.SLACK_SIGNING_SECRET) {
    throw new ConfigError('Invalid configuration:\n  SLACK_SIGNING_SECRET: needed for POST /slack/events (or set SLACK_APP_TOKEN for Socket Mode)');
  }
  return {
    botToken: c.SLACK_BOT_TOKEN,
    signingSecret: c.SLACK_SIGNING_SECRET,
    appToken: c.SLACK_APP_TOKEN,
    apiUrl: c.SLACK_API_URL.endsWith('/') ? c.SLACK_API_URL : `${c.SLACK_API_URL}/`,
    access: { teams: splitList(c.SLACK_ALLOWED_TEAMS), channels: splitList(c.SLACK_ALLOWED_CHANNELS), users: splitList(c.SLACK_ALLOWED_USERS) },
    userMap: parseUserMap(c.SLACK_USER_MAP),
    fileThresholdChars: c.SLACK_FILE_THRESHOLD_CHARS,
    publicUrl,
  };
}

/** `U123=alice,U456=bob`. */
export function parseUserMap(value: string | undefined): Map<string, string> {
  const out = new Map<string, string>();
  for (const entry of splitList(value)) {
    const [user, name, extra] = entry.split('=').map((s) => s.trim());
    if (!user || !name || extra !== undefined || !SLACK_USER.test(user)) {
      throw new ConfigError(`Invalid configuration:\n  SLACK_USER_MAP: expected U123=keyname entries, comma separated (got ${JSON.stringify(entry)})`);
    }
    out.set(user, name);
  }
  return out;
}

/** Deny by default once any list is set: each set list must name the request's team, channel and user. */
export function slackAllowed(access: SlackAccess, who: { team: string; channel: string; user: string }): boolean {
  if (access.teams.length > 0 && !access.teams.includes(who.team)) return false;
  if (access.channels.length > 0 && !access.channels.includes(who.channel)) return false;
  if (access.users.length > 0 && !access.users.includes(who.user)) return false;
  return true;
}
