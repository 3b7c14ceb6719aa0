/**
 * `npm run bench:indexing`: what giving a tool log its search vector costs the database, per row:
 * inline (computed in the INSERT, as migration 0016's generated column did) against deferred (an INSERT
 * without it, then the search indexer's UPDATE batches of 200, migration 0018). 20,000 logs shaped like
 * bench:api's, three rounds, in a scratch database on the PostgreSQL server (BENCH_DATABASE_URL).
 */
import fs from 'node:fs';
import { sql } from 'kysely';
import { openDatabase } from '../src/db/database.ts';
import { migrate } from '../src/db/migrate.ts';
import { documentVector, indexPending } from '../src/db/queries/search-index.ts';

const ADMIN_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const scratchUrl = Object.assign(new URL(ADMIN_URL), { pathname: '/cco_bench_indexing' }).toString();
const admin = await openDatabase({ url: ADMIN_URL, dataDir: 'x', poolMax: 1 });
await sql.raw('drop database if exists cco_bench_indexing').execute(admin.db); await sql.raw('create database cco_bench_indexing').execute(admin.db); await admin.close();
const d = await openDatabase({ url: scratchUrl, dataDir: 'x', poolMax: 1 });
await migrate(d.db);
/** CPU time (ms) of this connection's backend, from /proc (Linux; the server on this machine). */
const cpu = async () => { const p = (await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(d.db)).rows[0]!.pid; const f = fs.readFileSync(`/proc/${p}/stat`, 'utf8').split(') ')[1]!.split(' '); return (Number(f[11]) + Number(f[12])) * 10; };
await sql`insert into sessions (id, project_path, project_type, status, source) values ('00000000-0000-4000-8000-000000000001', '/p', 'local', 'active', 'api')`.execute(d.db);
const N = 20000;
const rows = (k0: number, withVector: boolean) => sql`
  insert into command_logs (session_id, tool_use_id, tool, input, result, result_truncated, result_size, status, duration_ms, metadata${withVector ? sql`, search` : sql``})
  select l.*${withVector ? sql`, ${documentVector('command_logs', 'l')}` : sql``} from (
    select '00000000-0000-4000-8000-000000000001'::uuid, 'toolu_' || k, 'Bash', jsonb_build_object('command', 'npm test -- --grep case' || k, 'description', 'run tests') as input,
      substr(repeat('ok 12 - sessions list keeps its order under concurrent writes' || chr(10), 20), 1, 80 + (k * 53) % 1200) as result, false, 100, 'completed', 5, '{}'::jsonb
    from generate_series(${k0}::int, ${k0 + N - 1}::int) k) l`;
for (let rep = 0; rep < 3; rep++) {
  const base = rep * 3 * N;
  let c0 = await cpu(); await rows(base, false).execute(d.db); const plain = await cpu() - c0;
  c0 = await cpu(); let n = 0; for (;;) { const k = await indexPending(d.db, 'command_logs', 200); n += k; if (k === 0) break; } const deferred = await cpu() - c0;
  c0 = await cpu(); await rows(base + N, true).execute(d.db); const inline = await cpu() - c0;
  console.log(`rep ${rep}: insert without vector ${(plain / N * 1000).toFixed(1)} µs/row; indexer UPDATE ${(deferred / n * 1000).toFixed(1)} µs/row (${n} rows); insert with vector inline ${(inline / N * 1000).toFixed(1)} µs/row`);
}
await d.close();
const a2 = await openDatabase({ url: ADMIN_URL, dataDir: 'x', poolMax: 1 }); await sql.raw('drop database cco_bench_indexing').execute(a2.db); await a2.close();
