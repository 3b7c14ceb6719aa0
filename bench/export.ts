/**
 * bench:export — GET /api/export on the bench:api data set (1M messages and 1M logs at --scale 1):
 * the server (`cco serve`, a child process) streams every message as CSV (1M rows), then the
 * whole data set as JSON (sessions, messages and logs) and as a zip; the harness drains each
 * response, counts rows, and samples the server's RSS every 100 ms (growth over its RSS before
 * the request, and after). Figures: rows/s, MB/s, peak RSS growth.
 *
 *   npm run bench:export -- [--backend postgres|embedded] [--scale 1] [--formats csv:messages,json,zip]
 *   BENCH_EXPORT_SCALE=0.001 npm run bench:export     (a smoke run: tiny data set)
 * Writes bench/results/export-<backend>.json and prints a table.
 */
import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import type { Backend } from '../src/db/database.ts';
import { memoryMb, round } from './lib/proc.ts';
import { benchServer } from './lib/search-dataset.ts';

interface Figures {
  rows: number;
  bytes_mb: number;
  seconds: number;
  rows_per_s: number;
  mb_per_s: number;
  rss_before_mb: number;
  rss_peak_growth_mb: number;
  rss_after_mb: number;
}

/**
 * Rows in the body. CSV: line ends outside quoted fields (a quote toggles; an escaped "" toggles
 * twice), less the header. JSON: messages and logs (each has "session_id"). zip: not counted (its
 * binary headers can hold quote bytes): the dataset's sessions + messages + logs.
 */
function rowCounter(format: string) {
  let rows = 0;
  let quoted = false;
  let carry = '';
  return {
    feed(chunk: Uint8Array) {
      if (format === 'json') {
        const text = carry + Buffer.from(chunk).toString('latin1');
        rows += text.split('"session_id":').length - 1;
        carry = text.slice(-12); // shorter than the pattern: a match is never counted twice
      } else if (format === 'csv') {
        for (const b of chunk) {
          if (b === 34) quoted = !quoted;
          else if (b === 10 && !quoted) rows++;
        }
      }
    },
    total: (dataset: { sessions: number; messages: number; logs: number }) =>
      format === 'json' ? rows : format === 'csv' ? rows - 1 : dataset.sessions + dataset.messages + dataset.logs,
  };
}

async function exportOnce(url: string, pid: number, choice: string, dataset: { sessions: number; messages: number; logs: number }): Promise<Figures> {
  const [format, table] = choice.split(':');
  const rssBefore = memoryMb(pid)?.rss ?? NaN;
  let peak = rssBefore;
  const sampler = setInterval(() => {
    const m = memoryMb(pid);
    if (m) peak = Math.max(peak, m.rss);
  }, 100);
  const t0 = performance.now();
  const res = await fetch(`${url}/api/export?format=${format}${table ? `&table=${table}` : ''}`);
  if (res.status !== 200) throw new Error(`export ${choice}: ${res.status} ${await res.text()}`);
  const counter = rowCounter(format!);
  let bytes = 0;
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    bytes += chunk.length;
    counter.feed(chunk);
  }
  const seconds = (performance.now() - t0) / 1000;
  clearInterval(sampler);
  const rows = counter.total(dataset);
  return {
    rows,
    bytes_mb: round(bytes / 1e6, 1),
    seconds: round(seconds, 2),
    rows_per_s: Math.round(rows / seconds),
    mb_per_s: round(bytes / 1e6 / seconds, 1),
    rss_before_mb: round(rssBefore, 1),
    rss_peak_growth_mb: round(peak - rssBefore, 1),
    rss_after_mb: round(memoryMb(pid)?.rss ?? NaN, 1),
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { backend: { type: 'string' }, scale: { type: 'string' }, formats: { type: 'string' }, out: { type: 'string' } } });
  const backend = (values.backend ?? 'postgres') as Backend;
  const scale = Number(values.scale ?? process.env.BENCH_EXPORT_SCALE ?? 1);
  const formats = (values.formats ?? 'csv:messages,json,zip').split(',');
  const log = (l: string) => process.stderr.write(`[export ${backend}] ${l}\n`);
  const server = await benchServer(backend, scale, log);
  try {
    const results: Record<string, Figures> = {};
    for (const f of formats) {
      results[f] = await exportOnce(server.url, server.pid, f, server.dataset);
      log(`${f}: ${JSON.stringify(results[f])}`);
    }
    const result = { backend, date: new Date().toISOString(), dataset: server.dataset, exports: results };
    const out = values.out ?? path.join(import.meta.dirname, 'results');
    fs.mkdirSync(out, { recursive: true });
    fs.writeFileSync(path.join(out, `export-${backend}.json`), `${JSON.stringify(result, null, 2)}\n`);
    console.log(`| export (${backend}) | rows | MB | s | rows/s | MB/s | server RSS before | peak growth MB |`);
    console.log('|---|---|---|---|---|---|---|---|');
    for (const [f, r] of Object.entries(results)) console.log(`| ${f} | ${r.rows} | ${r.bytes_mb} | ${r.seconds} | ${r.rows_per_s} | ${r.mb_per_s} | ${r.rss_before_mb} | ${r.rss_peak_growth_mb} |`);
  } finally {
    await server.close();
  }
}

await main();
