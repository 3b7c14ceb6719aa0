/**
 * `npm run bench:runner`: the runner's figures with the real Claude Code binary
 * against the scripted model server: start latency next to a bare `claude -p`,
 * many sessions at once, and pause/resume/continue cycles across restarts.
 * Prints a Markdown table and writes bench/results/runner.json.
 *
 *   npm run bench:runner -- [--quick] [--only latency,burst,cycles] [--runs 20] [--rounds 3]
 *                           [--sessions 40] [--cycle-sessions 10] [--cycles 20]
 *                           [--backend embedded|postgres|both] [--out bench/results]
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createPgDatabase } from '../test/helpers/db.ts';
import { benchBurst } from './runner/burst.ts';
import { benchCycles } from './runner/cycles.ts';
import { benchLatency } from './runner/latency.ts';
import { markdownTable, type RunnerBenchResult } from './runner/report.ts';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const PARTS = ['latency', 'burst', 'cycles'] as const;
type Part = (typeof PARTS)[number];

export interface RunnerCliOptions {
  quick: boolean;
  parts: Part[];
  runs: number;
  rounds: number;
  warmup: number;
  sessions: number;
  cycleSessions: number;
  cycles: number;
  backends: ('embedded' | 'postgres')[];
  outDir: string;
  log: (line: string) => void;
}

function positive(name: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined) return fallback;
  const v = Number(raw);
  if (!Number.isInteger(v) || v <= 0) throw new Error(`--${name} must be a positive integer, got ${raw}`);
  return v;
}

export function parseCli(argv: string[]): RunnerCliOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      quick: { type: 'boolean', default: false },
      only: { type: 'string' },
      runs: { type: 'string' },
      rounds: { type: 'string' },
      sessions: { type: 'string' },
      'cycle-sessions': { type: 'string' },
      cycles: { type: 'string' },
      backend: { type: 'string', default: 'embedded' },
      out: { type: 'string' },
    },
    strict: true,
  });
  const q = values.quick;
  const parts = values.only ? values.only.split(',').map((s) => s.trim()) : [...PARTS];
  for (const p of parts) if (!(PARTS as readonly string[]).includes(p)) throw new Error(`--only takes ${PARTS.join(', ')}; got ${p}`);
  const backend = values.backend;
  if (backend !== 'embedded' && backend !== 'postgres' && backend !== 'both') throw new Error(`--backend must be embedded, postgres or both, got ${backend}`);
  return {
    quick: q,
    parts: parts as Part[],
    runs: positive('runs', values.runs, q ? 3 : 20),
    rounds: positive('rounds', values.rounds, q ? 1 : 3),
    warmup: q ? 1 : 2,
    sessions: positive('sessions', values.sessions, q ? 3 : 40),
    cycleSessions: positive('cycle-sessions', values['cycle-sessions'], q ? 2 : 10),
    cycles: positive('cycles', values.cycles, q ? 3 : 20),
    backends: backend === 'both' ? ['embedded', 'postgres'] : [backend],
    outDir: values.out ?? path.join(HERE, 'results'),
    log: (line) => console.error(line),
  };
}

export async function runRunnerBench(o: RunnerCliOptions): Promise<RunnerBenchResult> {
  const result: RunnerBenchResult = { date: new Date().toISOString(), node: process.version, cpus: os.availableParallelism(), quick: o.quick, latency: [], cycles: [] };
  // Each part on each backend gets its own fresh database.
  const onBackend = async <T>(backend: 'embedded' | 'postgres', run: (databaseUrl: string | undefined) => Promise<T>): Promise<T> => {
    const pg = backend === 'postgres' ? await createPgDatabase() : undefined;
    try {
      return await run(pg?.url);
    } finally {
      await pg?.drop();
    }
  };
  if (o.parts.includes('latency')) {
    for (const backend of o.backends) result.latency.push(await onBackend(backend, (databaseUrl) => benchLatency({ runs: o.runs, rounds: o.rounds, warmup: o.warmup, databaseUrl, log: o.log })));
  }
  if (o.parts.includes('burst')) result.burst = await onBackend(o.backends[0]!, (databaseUrl) => benchBurst({ sessions: o.sessions, databaseUrl, log: o.log }));
  if (o.parts.includes('cycles')) {
    for (const backend of o.backends) result.cycles.push(await onBackend(backend, (databaseUrl) => benchCycles({ sessions: o.cycleSessions, cycles: o.cycles, databaseUrl, log: o.log })));
  }
  fs.mkdirSync(o.outDir, { recursive: true });
  fs.writeFileSync(path.join(o.outDir, `runner${o.quick ? '-quick' : ''}.json`), `${JSON.stringify(result, null, 2)}\n`);
  fs.writeFileSync(path.join(o.outDir, `runner${o.quick ? '-quick' : ''}.md`), `${markdownTable(result)}\n`);
  return result;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    const result = await runRunnerBench(parseCli(process.argv.slice(2)));
    console.log(markdownTable(result));
  } catch (e: unknown) {
    console.error((e as Error).stack ?? (e as Error).message);
    process.exitCode = 1;
  }
}
