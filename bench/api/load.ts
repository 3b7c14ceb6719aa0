/**
 * The HTTP load generator: N senders over keep-alive connections, each sending
 * its next request as soon as the previous answer is read; per-request latency
 * measured from write to the last byte of the answer. Runs in a child process
 * (load-process.ts) so the client never shares an event loop with the server.
 */
import http from 'node:http';
import { performance } from 'node:perf_hooks';
import { hookBatch, hookPayload, type HookBatchSpec, type HookPayloadSpec } from './hook-payloads.ts';

export type LoadRequests =
  | { kind: 'get'; paths: string[] }
  | { kind: 'hooks'; spec: HookPayloadSpec }
  /** POST /api/hooks/batch with a text/plain answer, as the forwarder sends; sender k is forwarder k. */
  | { kind: 'hook-batches'; spec: HookBatchSpec };

export interface LoadJob {
  baseUrl: string;
  concurrency: number;
  /** Measured requests. */
  count: number;
  /** Requests sent first and not measured (connection set-up, JIT). */
  warmup: number;
  requests: LoadRequests;
  /**
   * Open loop: each sender sends one request every intervalMs (senders staggered); a request that
   * cannot go on time (the previous answer is late) goes at once, and its latency counts from when it
   * was due, so a server that falls behind shows it. Unset: each sender sends as soon as its previous
   * answer is in (closed loop).
   */
  intervalMs?: number | undefined;
  /** Sent as `authorization: Bearer <key>` with every request (a server with AUTH=keys). */
  key?: string | undefined;
}

export interface LoadResult {
  latenciesMs: number[];
  elapsedMs: number;
  errors: number;
  firstError: string | null;
  /** CPU time the load generator itself used (user + system). */
  clientCpuMs: number;
}

interface Prepared {
  method: 'GET' | 'POST';
  path: string;
  body: string | undefined;
  accept: string;
}

function prepare(r: LoadRequests, i: number, sender: number): Prepared {
  if (r.kind === 'get') return { method: 'GET', path: r.paths[i % r.paths.length] as string, body: undefined, accept: 'application/json' };
  if (r.kind === 'hook-batches') return { method: 'POST', path: '/api/hooks/batch', body: JSON.stringify(hookBatch(r.spec, i, sender)), accept: 'text/plain' };
  return { method: 'POST', path: '/api/hooks/tool-complete', body: JSON.stringify(hookPayload(r.spec, i)), accept: 'application/json' };
}

function send(agent: http.Agent, base: URL, p: Prepared, key: string | undefined): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | number> = { accept: p.accept };
    if (key !== undefined) headers.authorization = `Bearer ${key}`;
    if (p.body !== undefined) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = Buffer.byteLength(p.body);
    }
    const req = http.request({ agent, host: base.hostname, port: base.port, method: p.method, path: p.path, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(p.body);
  });
}

export async function runLoad(job: LoadJob): Promise<LoadResult> {
  const base = new URL(job.baseUrl);
  const agent = new http.Agent({ keepAlive: true, maxSockets: job.concurrency });
  const total = job.warmup + job.count;
  const latencies = new Array<number>(job.count).fill(0);
  let next = 0;
  let errors = 0;
  let firstError: string | null = null;
  let measuredStart = 0;
  const cpuBefore = process.cpuUsage();

  async function sender(k: number): Promise<void> {
    const interval = job.intervalMs ?? 0;
    const origin = performance.now() + (interval * k) / job.concurrency;
    let sent = 0;
    while (true) {
      const i = next++;
      if (i >= total) return;
      const due = interval > 0 ? origin + sent++ * interval : undefined;
      if (due !== undefined && due > performance.now()) await new Promise((r) => setTimeout(r, due - performance.now()));
      if (i === job.warmup) measuredStart = performance.now();
      const p = prepare(job.requests, i, k);
      const t0 = due === undefined ? performance.now() : Math.min(performance.now(), due);
      let failure: string | null = null;
      try {
        const res = await send(agent, base, p, job.key);
        if (res.status >= 300) failure = `${p.method} ${p.path} -> ${res.status} ${res.body.slice(0, 200)}`;
        else if (p.accept === 'text/plain' && / refused /.test(res.body)) failure = `${p.method} ${p.path}: refused events ${res.body.slice(0, 200)}`;
      } catch (e: unknown) {
        failure = `${p.method} ${p.path} -> ${(e as Error).message}`;
      }
      const t1 = performance.now();
      if (i >= job.warmup) latencies[i - job.warmup] = t1 - t0;
      if (failure !== null) {
        errors += 1;
        firstError ??= failure;
      }
    }
  }

  try {
    // Warm-up runs at the same concurrency so the measured part starts with open connections.
    await Promise.all(Array.from({ length: job.concurrency }, (_, k) => sender(k)));
  } finally {
    agent.destroy();
  }
  const cpu = process.cpuUsage(cpuBefore);
  return { latenciesMs: latencies, elapsedMs: performance.now() - measuredStart, errors, firstError, clientCpuMs: (cpu.user + cpu.system) / 1000 };
}

/** Nearest-rank percentile of an unsorted sample. */
export function percentile(sample: readonly number[], p: number): number {
  if (sample.length === 0) return Number.NaN;
  const sorted = [...sample].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank] as number;
}

export function median(values: readonly number[]): number {
  return percentile(values, 50);
}
