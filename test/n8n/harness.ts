/** Small pieces the n8n run shares: timed checks that keep going after a failure, polling, HTTP, signing. */
import { createHmac } from 'node:crypto';

const t0 = Date.now();
export const log = (line: string) => console.log(`[${((Date.now() - t0) / 1000).toFixed(1).padStart(6)} s] ${line}`);
export const elapsed = () => (Date.now() - t0) / 1000;
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface CheckResult {
  name: string;
  ok: boolean;
  seconds: number;
  detail: string;
}
export const results: CheckResult[] = [];

/** Runs one check; a failure is recorded and the run goes on, so one run reports every broken part. */
export async function check(name: string, f: () => Promise<string | void>): Promise<boolean> {
  const started = Date.now();
  try {
    const detail = (await f()) ?? '';
    results.push({ name, ok: true, seconds: (Date.now() - started) / 1000, detail });
    log(`ok   ${name}${detail ? ` (${detail})` : ''}`);
    return true;
  } catch (e: unknown) {
    const detail = e instanceof Error ? e.message : String(e);
    results.push({ name, ok: false, seconds: (Date.now() - started) / 1000, detail });
    log(`FAIL ${name}: ${detail}`);
    return false;
  }
}

export function assert(cond: unknown, message: string): asserts cond {
  if (!cond) throw new Error(message);
}

/** Polls until f returns a value, or fails with what it last saw. */
export async function until<T>(what: string, f: () => Promise<T | undefined>, timeoutMs: number, everyMs = 250): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await f();
      if (v !== undefined) return v;
    } catch (e: unknown) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await sleep(everyMs);
  }
}

export interface HttpAnswer {
  status: number;
  body: Record<string, unknown>;
  text: string;
}

export async function http(method: string, url: string, opts: { body?: string | object; headers?: Record<string, string> } = {}): Promise<HttpAnswer> {
  const body = opts.body === undefined ? undefined : typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body);
  const res = await fetch(url, {
    method,
    headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...opts.headers },
    body,
    signal: AbortSignal.timeout(120_000),
  });
  const text = await res.text();
  let parsed: Record<string, unknown>;
  try {
    parsed = text ? (JSON.parse(text) as Record<string, unknown>) : {};
  } catch {
    parsed = { text };
  }
  return { status: res.status, body: parsed, text };
}

/** Slack's v0 request signature, as the Slack Trigger node checks it. */
export function slackHeaders(secret: string, body: string): Record<string, string> {
  const ts = String(Math.floor(Date.now() / 1000));
  const sig = createHmac('sha256', secret).update(`v0:${ts}:${body}`).digest('hex');
  return { 'x-slack-request-timestamp': ts, 'x-slack-signature': `v0=${sig}` };
}

/** The orchestrator's webhook signature, for deliveries the test makes itself (forged and genuine). */
export function ccoSignature(secret: string, body: string, unixSeconds = Math.floor(Date.now() / 1000)): string {
  return `t=${unixSeconds},v1=${createHmac('sha256', secret).update(`${unixSeconds}.${body}`).digest('hex')}`;
}
