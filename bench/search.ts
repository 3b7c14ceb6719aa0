/**
 * bench:search — full-text search latency of GET /api/sessions?q= on the bench:api data set
 * (1M messages and 1M logs at --scale 1), for words found in every row, rare words, phrases,
 * no match, and search combined with filters. The server runs in a child process (`cco serve`);
 * requests are sent one at a time and timed end to end.
 *
 *   npm run bench:search -- [--backend postgres|embedded] [--scale 1] [--requests 60]
 *   BENCH_SEARCH_SCALE=0.001 npm run bench:search     (a smoke run: tiny data set)
 * Writes bench/results/search-<backend>.json and prints a table.
 */
import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import type { Backend } from '../src/db/database.ts';
import { percentile, round } from './lib/proc.ts';
import { benchServer } from './lib/search-dataset.ts';

/** Words of the seeded text (bench/api/seed.ts): every message says "refactor ... paging ... tests"; every log result "sessions ... concurrent writes". */
function queries(messages: number, logs: number): Record<string, string[]> {
  const pick = (n: number, i: number) => String(Math.floor((n * (i * 7919 + 13)) / 100_003) % n);
  return {
    common_word: ['refactor', 'paging', 'tests', 'sessions', 'concurrent'],
    common_two_words: ['refactor tests', 'sessions writes', 'paging fast'],
    rare_word: Array.from({ length: 5 }, (_, i) => pick(messages, i + 1)), // the " #k" suffix: one message each
    rare_log_word: Array.from({ length: 5 }, (_, i) => `case${Number(pick(logs, i + 11)) - (Number(pick(logs, i + 11)) % 6)}`), // --grep case<k> (Bash logs: k % 6 = 0): one log each
    phrase: ['"paging stays fast"', '"concurrent writes"', '"run the tests and report"'],
    no_match: ['zeppelin', 'quasar', '"fast paging"'],
    with_filters: ['refactor&status=active', 'sessions&project_type=github&source=slack', 'tests&tool=Bash'],
  };
}

async function timed(url: string): Promise<{ ms: number; n: number }> {
  const t0 = performance.now();
  const res = await fetch(url);
  const body = (await res.json()) as { data?: unknown[] };
  const ms = performance.now() - t0;
  if (res.status !== 200) throw new Error(`GET ${url}: ${res.status} ${JSON.stringify(body).slice(0, 300)}`);
  return { ms, n: body.data?.length ?? 0 };
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { backend: { type: 'string' }, scale: { type: 'string' }, requests: { type: 'string' }, out: { type: 'string' } } });
  const backend = (values.backend ?? 'postgres') as Backend;
  const scale = Number(values.scale ?? process.env.BENCH_SEARCH_SCALE ?? 1);
  const requests = Number(values.requests ?? 60);
  const log = (l: string) => process.stderr.write(`[search ${backend}] ${l}\n`);
  const server = await benchServer(backend, scale, log);
  try {
    const qs = queries(server.dataset.messages, server.dataset.logs);
    const kinds: Record<string, { p50_ms: number; p95_ms: number; max_ms: number; n: number; results_mean: number }> = {};
    const all: number[] = [];
    for (const [kind, list] of Object.entries(qs)) {
      const times: number[] = [];
      let results = 0;
      const urls = list.map((q) => {
        const [text, ...filters] = q.split('&');
        return `${server.url}/api/sessions?limit=50&q=${encodeURIComponent(text!)}${filters.length ? `&${filters.join('&')}` : ''}`;
      });
      for (const u of urls) await timed(u); // warm-up: plan caches, first reads
      for (let i = 0; i < requests; i++) {
        const r = await timed(urls[i % urls.length]!);
        times.push(r.ms);
        results += r.n;
      }
      all.push(...times);
      kinds[kind] = { p50_ms: round(percentile(times, 50), 1), p95_ms: round(percentile(times, 95), 1), max_ms: round(Math.max(...times), 1), n: times.length, results_mean: round(results / times.length, 1) };
      log(`${kind}: p50 ${kinds[kind].p50_ms} ms, p95 ${kinds[kind].p95_ms} ms`);
    }
    const result = {
      backend,
      date: new Date().toISOString(),
      dataset: server.dataset,
      requests_per_kind: requests,
      overall: { p50_ms: round(percentile(all, 50), 1), p95_ms: round(percentile(all, 95), 1), n: all.length },
      kinds,
    };
    const out = values.out ?? path.join(import.meta.dirname, 'results');
    fs.mkdirSync(out, { recursive: true });
    fs.writeFileSync(path.join(out, `search-${backend}.json`), `${JSON.stringify(result, null, 2)}\n`);
    console.log(`| query kind (${backend}, ${server.dataset.messages} messages, ${server.dataset.logs} logs) | p50 ms | p95 ms | max ms | results |`);
    console.log('|---|---|---|---|---|');
    for (const [k, v] of Object.entries(kinds)) console.log(`| ${k} | ${v.p50_ms} | ${v.p95_ms} | ${v.max_ms} | ${v.results_mean} |`);
    console.log(`| all | ${result.overall.p50_ms} | ${result.overall.p95_ms} | | |`);
  } finally {
    await server.close();
  }
}

await main();
