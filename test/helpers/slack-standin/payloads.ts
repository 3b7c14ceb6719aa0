/** Request signing (for Slack's HTTP endpoints) and the payloads Slack sends to an app. */
import crypto from 'node:crypto';
import type { Identity } from './types.ts';

/** Slack's request signature: `v0=` + hex HMAC-SHA256 of `v0:<timestamp>:<raw body>`. */
export function slackSignature(secret: string, timestamp: number | string, rawBody: string | Buffer): string {
  return `v0=${crypto.createHmac('sha256', secret).update(`v0:${timestamp}:`).update(rawBody).digest('hex')}`;
}

/** Headers Slack would send with rawBody: signature, timestamp (default now) and content type (default JSON). */
export function signedHeaders(secret: string, rawBody: string | Buffer, opts: { timestamp?: number; contentType?: string } = {}): Record<string, string> {
  const timestamp = opts.timestamp ?? Math.floor(Date.now() / 1000);
  return {
    'content-type': opts.contentType ?? 'application/json',
    'x-slack-request-timestamp': String(timestamp),
    'x-slack-signature': slackSignature(secret, timestamp, rawBody),
  };
}

/** The events_api payload (an `event_callback`) Slack wraps an event in. */
export function eventCallback(id: Identity, event: Record<string, unknown>, eventId = `Ev${crypto.randomBytes(5).toString('hex').toUpperCase()}`): Record<string, unknown> {
  return {
    token: 'standin-verification-token',
    team_id: id.teamId,
    api_app_id: id.appId,
    event: { event_ts: event.ts, ...event },
    type: 'event_callback',
    event_id: eventId,
    event_time: Math.floor(Date.now() / 1000),
    authorizations: [{ enterprise_id: null, team_id: id.teamId, user_id: id.botUserId, is_bot: true, is_enterprise_install: false }],
    is_ext_shared_channel: false,
    event_context: `4-${crypto.randomBytes(8).toString('hex')}`,
  };
}

export interface CommandArgs {
  command: string;
  text: string;
  user_id: string;
  channel_id: string;
  user_name?: string;
  channel_name?: string;
}

/** A slash command payload as Slack sends it over Socket Mode (all values strings). */
export function commandPayload(id: Identity, args: CommandArgs, responseUrl: string): Record<string, unknown> {
  return {
    token: 'standin-verification-token',
    team_id: id.teamId,
    team_domain: 'standin',
    channel_id: args.channel_id,
    channel_name: args.channel_name ?? (args.channel_id.startsWith('D') ? 'directmessage' : args.channel_id.toLowerCase()),
    user_id: args.user_id,
    user_name: args.user_name ?? args.user_id.toLowerCase(),
    command: args.command,
    text: args.text,
    api_app_id: id.appId,
    is_enterprise_install: 'false',
    response_url: responseUrl,
    trigger_id: `${Date.now()}.${crypto.randomBytes(6).toString('hex')}`,
  };
}

export const channelType = (channel: string): string => (channel.startsWith('D') ? 'im' : channel.startsWith('G') ? 'group' : 'channel');
