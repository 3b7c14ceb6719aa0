/**
 * `npm run bench:ingest-path`: the CPU one hook event costs on the batch ingest path, without HTTP
 * and without competition. bench:api's batch scenario runs the server, the database and the load
 * generator on the same two cores and reports their CPU per event under load; on these noisy VMs
 * a ±15 % change there is lost in the spread. Here storeHookBatch (the code behind POST
 * /api/hooks/batch: checks, redaction, the batch statements, publishing and the live-event write)
 * stores bench:api's forwarder batches through one connection (--concurrency 1), or several,
 * and the CPU of this process and of the database backends is divided by the events stored.
 *
 *   npm run bench:ingest-path -- [--backend postgres|embedded] [--batches 1000] [--concurrency 1] [--repeat 3]
 *
 * Each repeat uses a fresh database and first stores --batches batches unmeasured (connections,
 * prepared statements, JIT), then --batches more measured. Prints the median and range of each figure.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import { parseArgs } from 'node:util';
import { loadConfig } from '../src/config.ts';
import { openDatabase } from '../src/db/database.ts';
import { migrate } from '../src/db/migrate.ts';
import { EventBus } from '../src/events/bus.ts';
import { LiveEventLog } from '../src/events/live-log.ts';
import { storeHookBatch } from '../src/hooks/ingest-batch.ts';
import { createLogger } from '../src/logger.ts';
import { hookBatch } from './api/hook-payloads.ts';
import { backendCpu, prepareBackend } from './api/run.ts';
import { median } from './api/load.ts';

const { values } = parseArgs({
  options: {
    backend: { type: 'string', default: 'postgres' },
    batches: { type: 'string', default: '1000' },
    concurrency: { type: 'string', default: '1' },
    repeat: { type: 'string', default: '3' },
  },
  strict: true,
});
const backend = values.backend;
if (backend !== 'postgres' && backend !== 'embedded') throw new Error(`--backend must be postgres or embedded, got ${backend}`);
const count = (name: string, raw: string) => {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer, got ${raw}`);
  return n;
};
const batches = count('batches', values.batches);
const concurrency = count('concurrency', values.concurrency);
const repeat = count('repeat', values.repeat);
const adminUrl = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const logger = createLogger('silent', { pretty: false });

interface Figures {
  node_us: number;
  db_us: number;
  wall_us: number;
  events: number;
}

async function once(): Promise<Figures> {
  const prepared = await prepareBackend(backend as 'postgres' | 'embedded', adminUrl);
  try {
    const config = loadConfig({ ...process.env, ...prepared.env, DB_POOL_MAX: String(concurrency), LOG_LEVEL: 'silent' });
    const database = await openDatabase(config.db);
    try {
      await migrate(database.db);
      const bus = new EventBus();
      const live = new LiveEventLog(database, logger);
      bus.attach(live);
      const spec = { claudeSessionIds: Array.from({ length: 50 }, () => randomUUID()), runTag: randomBytes(4).toString('hex') };
      const bodies = Array.from({ length: 2 * batches }, (_, i) => hookBatch(spec, i, i % 50).events.map((e) => ({ event: e.event, id: e.id, payload: e.payload as never })));
      const deps = { database, events: bus, resultMaxBytes: config.resultMaxBytes, owner: null, scope: null };
      const store = async (from: number, to: number) => {
        let next = from;
        let events = 0;
        const worker = async () => {
          for (let i = next++; i < to; i = next++) {
            const results = await storeHookBatch(deps, bodies[i]!);
            if (results.some((r) => r.status !== 'stored')) throw new Error(`batch ${i}: ${JSON.stringify(results.find((r) => r.status !== 'stored'))}`);
            events += results.length;
          }
        };
        await Promise.all(Array.from({ length: concurrency }, worker));
        await live.flush();
        return events;
      };
      await store(0, batches);
      const dbBefore = await backendCpu(database.db);
      const cpu = process.cpuUsage();
      const t0 = performance.now();
      const events = await store(batches, 2 * batches);
      const wallMs = performance.now() - t0;
      const used = process.cpuUsage(cpu);
      let dbMs = 0;
      for (const [pid, ms] of await backendCpu(database.db)) dbMs += ms - (dbBefore.get(pid) ?? 0);
      const per = (ms: number) => Math.round((ms * 1000) / events);
      return { node_us: per((used.user + used.system) / 1000), db_us: per(dbMs), wall_us: per(wallMs), events };
    } finally {
      await database.close();
    }
  } finally {
    await prepared.cleanup();
  }
}

const runs: Figures[] = [];
for (let r = 1; r <= repeat; r++) {
  const f = await once();
  runs.push(f);
  console.log(`[${backend}] run ${r}/${repeat}: ${JSON.stringify(f)}`);
}
const load = fs.readFileSync('/proc/loadavg', 'utf8').split(' ')[0];
const fig = (k: keyof Figures) => {
  const v = runs.map((x) => x[k]);
  return `${median(v)} (${Math.min(...v)}–${Math.max(...v)})`;
};
console.log(`\n${os.cpus().length} × ${os.cpus()[0]?.model ?? '?'}, Node ${process.version}, ${backend}, concurrency ${concurrency}, ${runs[0]?.events} events per run, load at the end ${load}`);
console.log('| Per hook event on the batch path (median of runs, range) | µs |\n| --- | --- |');
console.log(`| CPU of this process (checks, redaction, statements, publishing) | ${fig('node_us')} |`);
console.log(`| CPU of the database backends | ${fig('db_us')} |`);
console.log(`| wall time | ${fig('wall_us')} |`);
