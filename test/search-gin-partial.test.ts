/** Migration 0020 (issue 10): the GIN search indexes hold only rows that have a vector, and searches still use them. */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { sql } from 'kysely';
import { createTestDb, type TestDb } from './helpers/db.ts';

let t: TestDb;
before(async () => {
  t = await createTestDb();
});
after(async () => {
  await t.close();
});

test('the GIN indexes are partial (search is not null), and a search over indexed rows reads them', async () => {
  const db = t.database.db;
  const defs = await sql<{ indexname: string; indexdef: string }>`
    select indexname, indexdef from pg_indexes where indexname in ('session_messages_search_idx', 'command_logs_search_idx') order by indexname`.execute(db);
  assert.equal(defs.rows.length, 2);
  for (const d of defs.rows) assert.match(d.indexdef, /USING gin \(search\) WHERE \(search IS NOT NULL\)/, d.indexname);

  await sql`insert into sessions (id, project_path, project_type, status, source) values ('00000000-0000-4000-8000-0000000000a1', '/srv/p', 'local', 'active', 'api')`.execute(db);
  await sql`insert into session_messages (session_id, direction, content, source, search)
    select '00000000-0000-4000-8000-0000000000a1', 'user', 'word' || i, 'api', to_tsvector('simple', 'word' || i) from generate_series(1, 2000) i`.execute(db);
  await sql`analyze session_messages`.execute(db);
  // The planner must see that `search @@ q` is false for a NULL vector, or the partial index would be unusable.
  const plan = await sql<{ 'QUERY PLAN': string }>`
    explain select id from session_messages where search @@ to_tsquery('simple', 'word77')`.execute(db);
  const text = plan.rows.map((r) => r['QUERY PLAN']).join('\n');
  assert.match(text, /session_messages_search_idx/, text);
});
