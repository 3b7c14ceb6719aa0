/**
 * Checks the orchestrator's webhook signature: `x-cco-signature: t=<unix seconds>,v1=<hex>`, where
 * v1 is HMAC-SHA256(secret, "<t>.<raw body>"). Several v1 values are accepted (a secret being
 * rotated). The time must be within the tolerance either way, so a captured delivery cannot be
 * replayed later and a forged future time does not help.
 */
import { createHmac, timingSafeEqual } from 'crypto';

export const SIGNATURE_TOLERANCE_S = 300;

export type SignatureVerdict = 'ok' | 'missing' | 'malformed' | 'stale' | 'mismatch';

export function verifySignature(
	secret: string,
	header: string | undefined,
	rawBody: Buffer | string,
	nowS: number,
): SignatureVerdict {
	if (!header) return 'missing';
	let timestamp: string | undefined;
	const signatures: string[] = [];
	for (const part of header.split(',')) {
		const at = part.indexOf('=');
		if (at < 0) continue;
		const key = part.slice(0, at).trim();
		const value = part.slice(at + 1).trim();
		if (key === 't') timestamp = value;
		else if (key === 'v1') signatures.push(value);
	}
	if (timestamp === undefined || !/^\d{1,12}$/.test(timestamp) || signatures.length === 0) {
		return 'malformed';
	}
	if (Math.abs(nowS - Number(timestamp)) > SIGNATURE_TOLERANCE_S) return 'stale';
	const expected = createHmac('sha256', secret).update(`${timestamp}.`).update(rawBody).digest();
	for (const signature of signatures) {
		if (!/^[0-9a-f]{64}$/i.test(signature)) continue;
		if (timingSafeEqual(Buffer.from(signature, 'hex'), expected)) return 'ok';
	}
	return 'mismatch';
}
