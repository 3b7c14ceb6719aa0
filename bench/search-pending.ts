/**
 * `npm run bench:search-pending`: what rows still waiting for the search indexer cost a search. Seeds
 * bench:api's data set (--scale, default 0.1: 100,000 messages and 100,000 logs) with every vector
 * stored, then takes the vectors off the newest N messages and N logs (as after a burst the indexer
 * has not caught up with) and times searchSessions directly (no HTTP), 30 queries per kind and N.
 * Rows waiting beyond PENDING_EXAMINED per table are not checked, so N above it costs the same.
 */
import { parseArgs } from 'node:util';
import { sql } from 'kysely';
import { openDatabase } from '../src/db/database.ts';
import { migrate } from '../src/db/migrate.ts';
import { PENDING_EXAMINED, searchSessions } from '../src/db/queries/search.ts';
import { datasetFor, seed } from './api/seed.ts';
import { median, percentile } from './api/load.ts';

const { values } = parseArgs({ options: { scale: { type: 'string' } } });
const scale = Number(values.scale ?? '0.1');
const ADMIN_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const NAME = 'cco_bench_search_pending';
const scratchUrl = Object.assign(new URL(ADMIN_URL), { pathname: `/${NAME}` }).toString();
const QUERIES = { common_word: 'refactor', rare_word: 'zeppelin', phrase: '"paging stays fast"' };

const admin = await openDatabase({ url: ADMIN_URL, dataDir: 'unused', poolMax: 1 });
await sql.raw(`drop database if exists ${NAME}`).execute(admin.db);
await sql.raw(`create database ${NAME}`).execute(admin.db);
const d = await openDatabase({ url: scratchUrl, dataDir: 'unused', poolMax: 2 });
try {
  await migrate(d.db);
  const size = datasetFor(scale);
  console.error(`seeding ${size.messages} messages and ${size.logs} logs`);
  await seed(d.db, size);
  console.log(`| rows waiting per table | ${Object.keys(QUERIES).map((k) => `${k} p50 / p95 ms`).join(' | ')} |`);
  console.log(`| --- | ${Object.keys(QUERIES).map(() => '---').join(' | ')} |`);
  for (const n of [...new Set([0, 50, PENDING_EXAMINED, 2000])].sort((a, b) => a - b)) {
    await sql`update session_messages set search = null where id > (select max(id) from session_messages) - ${n}`.execute(d.db);
    await sql`update command_logs set search = null where id > (select max(id) from command_logs) - ${n}`.execute(d.db);
    await sql`vacuum analyze session_messages`.execute(d.db);
    await sql`vacuum analyze command_logs`.execute(d.db);
    const cells: string[] = [];
    for (const text of Object.values(QUERIES)) {
      const ms: number[] = [];
      for (let i = 0; i < 35; i++) {
        const t0 = performance.now();
        await searchSessions(d.db, { text, filter: {}, limit: 51, offset: 0 });
        if (i >= 5) ms.push(performance.now() - t0);
      }
      cells.push(`${median(ms).toFixed(1)} / ${percentile(ms, 95).toFixed(1)}`);
    }
    console.log(`| ${n} | ${cells.join(' | ')} |`);
    // Back to all indexed before the next size.
    await sql`update session_messages set search = to_tsvector('simple'::regconfig, cco_message_doc(content)) where search is null`.execute(d.db);
    await sql`update command_logs set search = to_tsvector('simple'::regconfig, cco_log_doc(input, result)) where search is null`.execute(d.db);
  }
} finally {
  await d.close();
  await sql.raw(`drop database if exists ${NAME}`).execute(admin.db);
  await admin.close();
}
