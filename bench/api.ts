/**
 * `npm run bench:api`: seeds 100,000 sessions, 1,000,000 messages and 1,000,000
 * command logs into a fresh database per backend, starts the real server and
 * measures list/page reads and hook ingest over HTTP. Prints a Markdown table and
 * writes bench/results/api-<backend>.json.
 *
 *   npm run bench:api -- [--backend postgres|embedded|both] [--scale 0.01] [--repeat 3]
 *                        [--requests 200] [--hook-events 20000] [--concurrency 50] [--out bench/results]
 *                        [--batch-rate 7500]   (events/s the batch scenario offers; 0: as fast as answered)
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { Backend } from '../src/db/database.ts';
import { markdownTable } from './api/report.ts';
import { benchBackend, type ApiBenchOptions, type BackendResult } from './api/run.ts';

export interface CliOptions extends ApiBenchOptions {
  backends: Backend[];
  outDir: string;
}

const HERE = path.dirname(fileURLToPath(import.meta.url));

function positive(name: string, raw: string | undefined, fallback: number, integer = true): number {
  if (raw === undefined) return fallback;
  const v = Number(raw);
  if (!Number.isFinite(v) || v <= 0 || (integer && !Number.isInteger(v))) throw new Error(`--${name} must be a positive ${integer ? 'integer' : 'number'}, got ${raw}`);
  return v;
}

export function parseCli(argv: string[]): CliOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      backend: { type: 'string', default: 'both' },
      scale: { type: 'string' },
      repeat: { type: 'string' },
      requests: { type: 'string' },
      'hook-events': { type: 'string' },
      concurrency: { type: 'string' },
      'batch-rate': { type: 'string' },
      out: { type: 'string' },
    },
    strict: true,
  });
  const backend = values.backend;
  if (backend !== 'postgres' && backend !== 'embedded' && backend !== 'both') throw new Error(`--backend must be postgres, embedded or both, got ${backend}`);
  const scale = positive('scale', values.scale, 1, false);
  if (scale > 1) throw new Error('--scale is a fraction of the full data set (at most 1)');
  return {
    backends: backend === 'both' ? ['postgres', 'embedded'] : [backend],
    scale,
    repeat: positive('repeat', values.repeat, 1),
    readRequests: positive('requests', values.requests, 200),
    hookEvents: positive('hook-events', values['hook-events'], Math.max(200, Math.round(20_000 * Math.sqrt(scale)))),
    hookConcurrency: positive('concurrency', values.concurrency, 50),
    hookBatchRate: values['batch-rate'] === '0' ? 0 : positive('batch-rate', values['batch-rate'], 7500),
    adminUrl: process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres',
    outDir: values.out ?? path.join(HERE, 'results'),
    log: (line) => console.error(line),
  };
}

/** Runs every requested backend in turn, writes one JSON file each, returns the results. */
export async function runApiBench(opts: CliOptions): Promise<BackendResult[]> {
  const results: BackendResult[] = [];
  fs.mkdirSync(opts.outDir, { recursive: true });
  for (const backend of opts.backends) {
    const r = await benchBackend(backend, opts);
    fs.writeFileSync(path.join(opts.outDir, `api-${backend}.json`), `${JSON.stringify(r, null, 2)}\n`);
    results.push(r);
  }
  return results;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    const opts = parseCli(process.argv.slice(2));
    const results = await runApiBench(opts);
    console.log(markdownTable(results));
  } catch (e: unknown) {
    console.error((e as Error).message);
    process.exitCode = 1;
  }
}
