/** The search indexer and migration 0018 (issue 10): search vectors written off the hook's path. */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { sql, type Kysely } from 'kysely';
import { listMigrations, migrate } from '../src/db/migrate.ts';
import { readStateCounts } from '../src/db/queries/metrics.ts';
import { PENDING_EXAMINED, searchSessions } from '../src/db/queries/search.ts';
import type { DB } from '../src/db/schema.ts';
import { createLogger } from '../src/logger.ts';
import { SearchIndexer } from '../src/sessions/search-indexer.ts';
import { createTestDb, type TestDb } from './helpers/db.ts';

const logger = createLogger('silent', { pretty: false });

async function addSession(db: Kysely<DB>, id: string): Promise<void> {
  await sql`insert into sessions (id, project_path, project_type, status, source) values (${id}, '/srv/p', 'local', 'active', 'api')`.execute(db);
}

/** n messages and n tool logs, each naming a word of its own (word<i>) and a shared one. */
async function addRows(db: Kysely<DB>, sessionId: string, from: number, n: number): Promise<void> {
  await sql`insert into session_messages (session_id, direction, content, source)
    select ${sessionId}, 'user', 'shared word' || i || ' text', 'api' from generate_series(${from}::int, ${from + n - 1}::int) i`.execute(db);
  await sql`insert into command_logs (session_id, tool, input, result, status)
    select ${sessionId}, 'Bash', jsonb_build_object('command', 'echo log' || i), 'shared output', 'completed' from generate_series(${from}::int, ${from + n - 1}::int) i`.execute(db);
}

async function pending(db: Kysely<DB>): Promise<{ messages: number; logs: number }> {
  return (await readStateCounts(db)).searchPending;
}

/** Each row's stored vector equals the one the search computes for a row without one. */
async function vectorsMatchDocuments(db: Kysely<DB>): Promise<number> {
  const r = await sql<{ bad: number; n: number }>`
    select count(*) filter (where search is distinct from to_tsvector('simple'::regconfig, cco_message_doc(content)))::int as bad, count(*)::int as n from session_messages`.execute(db);
  const l = await sql<{ bad: number; n: number }>`
    select count(*) filter (where search is distinct from to_tsvector('simple'::regconfig, cco_log_doc(input, result)))::int as bad, count(*)::int as n from command_logs`.execute(db);
  assert.equal(r.rows[0]?.bad, 0, 'message vectors');
  assert.equal(l.rows[0]?.bad, 0, 'log vectors');
  return Number(r.rows[0]?.n) + Number(l.rows[0]?.n);
}

describe('migration 0018 on a database that has data', () => {
  let t: TestDb;
  before(async () => {
    t = await createTestDb({ migrate: false });
  });
  after(async () => {
    await t.close();
  });

  test('keeps the vectors 0016 computed; new rows wait for the indexer', async () => {
    const db = t.database.db;
    const all = listMigrations();
    await migrate(db, all.filter((m) => m.id < 18));
    await addSession(db, '00000000-0000-4000-8000-000000000001');
    await addRows(db, '00000000-0000-4000-8000-000000000001', 0, 5);
    await migrate(db, all);
    assert.deepEqual(await pending(db), { messages: 0, logs: 0 }, 'upgraded rows keep their vectors');
    assert.equal(await vectorsMatchDocuments(db), 10);
    await addRows(db, '00000000-0000-4000-8000-000000000001', 5, 3);
    assert.deepEqual(await pending(db), { messages: 3, logs: 3 });
  });
});

describe('SearchIndexer', () => {
  let t: TestDb;
  const session = '00000000-0000-4000-8000-000000000002';
  before(async () => {
    t = await createTestDb();
    await addSession(t.database.db, session);
  });
  after(async () => {
    await t.close();
  });

  test('drain() gives every waiting row its vector, in batches', async () => {
    const db = t.database.db;
    await addRows(db, session, 0, 450);
    assert.deepEqual(await pending(db), { messages: 450, logs: 450 });
    const indexer = new SearchIndexer(t.database, logger, { batch: 100 });
    assert.equal(await indexer.drain(), 900);
    assert.deepEqual(await pending(db), { messages: 0, logs: 0 });
    assert.equal(await vectorsMatchDocuments(db), 900);
    assert.equal(await indexer.drain(), 0, 'nothing left to do');
  });

  test('started, it keeps up with new rows; stop() is idempotent and a restart works', async () => {
    const db = t.database.db;
    const indexer = new SearchIndexer(t.database, logger, { batch: 50, idleMs: 20 });
    indexer.start();
    indexer.start();
    await addRows(db, session, 1000, 120);
    await waitFor(async () => (await pending(db)).messages + (await pending(db)).logs === 0, 'the running indexer catches up');
    await indexer.stop();
    await indexer.stop();
    await addRows(db, session, 2000, 10);
    await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(await pending(db), { messages: 10, logs: 10 }, 'a stopped indexer writes nothing');
    indexer.start();
    await waitFor(async () => (await pending(db)).messages + (await pending(db)).logs === 0, 'the restarted indexer catches up');
    await indexer.stop();
    await vectorsMatchDocuments(db);
  });

  test('two indexers at once (two processes) skip each other and index every row once', async () => {
    const db = t.database.db;
    await addRows(db, session, 3000, 600);
    const a = new SearchIndexer(t.database, logger, { batch: 40 });
    const b = new SearchIndexer(t.database, logger, { batch: 40 });
    const [na, nb] = await Promise.all([a.drain(), b.drain()]);
    assert.equal(na + nb, 1200, 'each row indexed by exactly one of them');
    assert.ok(na > 0 && nb > 0, `both took part (${na} and ${nb})`);
    assert.deepEqual(await pending(db), { messages: 0, logs: 0 });
  });

  test('a search finds rows not indexed yet, the newest PENDING_EXAMINED per table; older ones once indexed', async () => {
    const db = t.database.db;
    const burst = '00000000-0000-4000-8000-000000000003';
    await addSession(db, burst);
    await sql`insert into session_messages (session_id, direction, content, source)
      select ${burst}, 'user', case when i = 0 then 'oldestword' when i = ${PENDING_EXAMINED} then 'newestword' else 'filler' end, 'api'
      from generate_series(0, ${PENDING_EXAMINED}) i`.execute(db);
    const found = async (word: string) => (await searchSessions(db, { text: word, filter: {}, limit: 10, offset: 0 })).map((r) => r.id);
    assert.deepEqual(await found('newestword'), [burst], 'the newest waiting row is checked on the spot');
    assert.deepEqual(await found('oldestword'), [], 'beyond the newest PENDING_EXAMINED, a waiting row waits for the indexer');
    await new SearchIndexer(t.database, logger).drain();
    assert.deepEqual(await found('oldestword'), [burst]);
    assert.deepEqual(await found('newestword'), [burst]);
  });

  test('while rows are being written it keeps to busyDuty of the time; with no writes it goes on at once', async () => {
    const db = t.database.db;
    for (const busy of [true, false]) {
      const lines: { rows?: number; ms?: number; pauseMs?: number }[] = [];
      const log = createLogger('trace', { pretty: false, destination: { write: (l: string) => void lines.push(JSON.parse(l)) } });
      let writes = 0;
      // The bus position as the server passes it: moving on every look while writes go on.
      const activity = () => (busy ? ++writes : 'quiet');
      const indexer = new SearchIndexer(t.database, log, { batch: 20, idleMs: 20, busyDuty: 0.5 }, activity);
      await addRows(db, session, busy ? 5000 : 6000, 60);
      indexer.start();
      await waitFor(async () => (await pending(db)).messages + (await pending(db)).logs === 0, 'the indexer catches up');
      await indexer.stop();
      const full = lines.filter((l) => l.rows !== undefined && l.rows >= 20);
      assert.ok(full.length >= 3, `batches logged: ${JSON.stringify(lines)}`);
      for (const l of full) {
        // busyDuty 0.5: as long a pause as the batch took; none when nothing is being written.
        if (busy) assert.ok(Math.abs(l.pauseMs! - l.ms! * (1 / 0.5 - 1)) <= 1, JSON.stringify(l));
        else assert.equal(l.pauseMs, 0, JSON.stringify(l));
      }
    }
    assert.throws(() => new SearchIndexer(t.database, logger, { busyDuty: 0 }), /busyDuty/);
  });

  test('a changed document goes back to the indexer (its old vector is dropped)', async () => {
    const db = t.database.db;
    await sql`update session_messages set content = 'rewritten zanzibar' where id = (select min(id) from session_messages)`.execute(db);
    await sql`update command_logs set result = 'rewritten zanzibar' where id = (select min(id) from command_logs)`.execute(db);
    await sql`update command_logs set status = 'error' where id = (select max(id) from command_logs)`.execute(db);
    assert.deepEqual(await pending(db), { messages: 1, logs: 1 }, 'only the rows whose text changed');
    await new SearchIndexer(t.database, logger).drain();
    await vectorsMatchDocuments(db);
  });
});

async function waitFor(check: () => Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) assert.fail(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
