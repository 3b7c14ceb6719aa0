/** The webhook part of the Config (WEBHOOK_* settings). Webhooks are always on in processes that serve HTTP. */
import { ConfigError, splitList } from '../settings.ts';
import { AllowList } from '../workspaces/remote-target.ts';

export interface WebhooksConfig {
  /** WEBHOOK_ALLOW_PRIVATE_HOSTS: host names, addresses and CIDRs targets may reach although private. */
  allowPrivateHosts: string[];
  /** WEBHOOK_TIMEOUT_MS: one attempt, connection to the end of the answer. */
  timeoutMs: number;
  /** Dashboard links in event data (PUBLIC_URL). */
  publicUrl: string;
}

export function webhooksConfigFrom(c: { WEBHOOK_ALLOW_PRIVATE_HOSTS?: string | undefined; WEBHOOK_TIMEOUT_MS: number }, publicUrl: string): WebhooksConfig {
  const allowPrivateHosts = splitList(c.WEBHOOK_ALLOW_PRIVATE_HOSTS);
  try {
    new AllowList(allowPrivateHosts);
  } catch (e: unknown) {
    throw new ConfigError(`Invalid configuration:\n  WEBHOOK_ALLOW_PRIVATE_HOSTS: expected host names, addresses or CIDRs, comma separated (${(e as Error).message})`);
  }
  return { allowPrivateHosts, timeoutMs: c.WEBHOOK_TIMEOUT_MS, publicUrl };
}
