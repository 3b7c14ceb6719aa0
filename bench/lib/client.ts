/** An HTTP client over several API processes (a random one per request, as a proxy would), and a seeded PRNG. */
import type { Cluster } from './cluster.ts';

export type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** mulberry32: small, fast, and the same sequence for the same seed. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** status 0: no answer (connection refused or reset, timeout): the request may or may not have been applied. */
export interface Answer {
  status: number;
  body: Json;
  ms: number;
  via: string;
}

export class ApiClient {
  constructor(
    private readonly cluster: Cluster,
    private readonly random: () => number,
    private readonly timeoutMs = 15_000,
  ) {}

  async request(method: string, url: string, body?: unknown, headers: Record<string, string> = {}): Promise<Answer> {
    const apis = this.cluster.apis;
    const target = apis[Math.floor(this.random() * apis.length)]!;
    const t0 = performance.now();
    try {
      const r = await fetch(target.url + url, {
        method,
        headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      const text = await r.text();
      let parsed: Json = {};
      try {
        parsed = text ? (JSON.parse(text) as Json) : {};
      } catch {
        parsed = { raw: text.slice(0, 300) };
      }
      return { status: r.status, body: parsed, ms: performance.now() - t0, via: target.name };
    } catch (e: unknown) {
      return { status: 0, body: { error: { code: 'no_answer', message: (e as Error).message } }, ms: performance.now() - t0, via: target.name };
    }
  }
}

export const ok = (a: Answer) => a.status >= 200 && a.status < 300;
