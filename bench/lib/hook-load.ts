/**
 * Hook ingest load for bench:scale and bench:soak: `senders` loops posting single PostToolUse events
 * (bench:api's payloads) to random API processes, flat out or at a total rate. Keeps each answer's
 * time and latency and the tool_use_ids acknowledged, so lost events can be counted in the database.
 */
import { hookPayload } from '../api/hook-payloads.ts';
import { ok, type ApiClient } from './client.ts';

export interface HookSample {
  /** ms since the load started */
  at: number;
  ms: number;
  status: number;
}

export interface HookLoadResult {
  sent: number;
  samples: HookSample[];
  acked: string[];
  errors: number;
  elapsedMs: number;
}

export async function runHookLoad(opts: {
  client: ApiClient;
  senders: number;
  durationMs: number;
  /** Events per second across all senders; undefined: as fast as the answers come. */
  ratePerS?: number | undefined;
  runTag: string;
  claudeSessions?: number;
}): Promise<HookLoadResult> {
  const spec = { claudeSessionIds: Array.from({ length: opts.claudeSessions ?? 20 }, (_, i) => `${opts.runTag}-cs-${i}`), runTag: opts.runTag };
  const t0 = performance.now();
  const end = t0 + opts.durationMs;
  const samples: HookSample[] = [];
  const acked: string[] = [];
  let next = 0;
  let errors = 0;
  const sender = async () => {
    while (performance.now() < end) {
      const i = next++;
      if (opts.ratePerS) {
        const due = t0 + (i * 1000) / opts.ratePerS;
        if (due >= end) return;
        const wait = due - performance.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      }
      const payload = hookPayload(spec, i);
      const event = String(payload.hook_event_name ?? 'PostToolUse');
      const started = performance.now() - t0;
      const a = await opts.client.request('POST', `/api/hooks/${event}`, payload);
      samples.push({ at: started, ms: a.ms, status: a.status });
      if (ok(a)) acked.push(String(payload.tool_use_id));
      else errors++;
    }
  };
  await Promise.all(Array.from({ length: opts.senders }, sender));
  return { sent: samples.length, samples, acked, errors, elapsedMs: performance.now() - t0 };
}
