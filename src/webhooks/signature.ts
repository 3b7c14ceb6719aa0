/**
 * Delivery signatures: `x-cco-signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`
 * with the subscription's secret. The timestamp is inside what is signed, so a receiver that
 * refuses old timestamps (5 minutes, say) cannot be fed a recorded delivery later. The receiver's
 * side is in the README (and test/helpers/webhook-receiver.ts, which checks every test delivery).
 */
import { createHmac, randomBytes } from 'node:crypto';

export const SECRET_PREFIX = 'whsec_';

/** 32 random bytes: shown once at creation, kept to sign. */
export function newSecret(): string {
  return SECRET_PREFIX + randomBytes(32).toString('base64url');
}

export function signature(secret: string, body: string, t: number): string {
  return `t=${t},v1=${createHmac('sha256', secret).update(`${t}.${body}`).digest('hex')}`;
}

