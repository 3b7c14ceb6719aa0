/** Named prepared statements for the hot statements (src/db/prepared.ts) and their switch, DB_PREPARED_STATEMENTS. */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import { sql } from 'kysely';
import { loadConfig } from '../src/config.ts';
import { openDatabase } from '../src/db/database.ts';
import { migrate } from '../src/db/migrate.ts';
import { upsertSessionsAndInsertLogs } from '../src/db/queries/command-logs.ts';
import { createPgDatabase } from './helpers/db.ts';

const log = (n: number) => ({
  seed: { id: randomUUID(), claudeSessionId: 'claude-prepared', projectPath: '/tmp/p', metadata: {}, owner: null, scope: null },
  log: { tool_use_id: `toolu_${n}`, tool: 'Bash', input: { command: 'ls' }, result: 'a\nb', result_truncated: false, result_size: 3, status: 'completed', duration_ms: 5, metadata: {} },
});

test('DB_PREPARED_STATEMENTS: on unless set false', () => {
  assert.equal(loadConfig({ ...process.env, DB_PREPARED_STATEMENTS: undefined }).db.prepared, true);
  assert.equal(loadConfig({ ...process.env, DB_PREPARED_STATEMENTS: 'false' }).db.prepared, false);
});

test('a marked statement is prepared once per connection and reused; switched off, nothing is prepared', async () => {
  const created = await createPgDatabase();
  try {
    for (const prepared of [true, false]) {
      // One connection, so pg_prepared_statements (per session) sees what the pool's client prepared.
      const d = await openDatabase({ url: created.url, dataDir: 'unused', poolMax: 1, prepared });
      try {
        if (prepared) await migrate(d.db);
        for (let n = 0; n < 3; n++) {
          const [out] = await upsertSessionsAndInsertLogs(d.db, [log(prepared ? n : n + 10)]);
          assert.ok(out?.log, 'each log is stored');
        }
        const names = await sql<{ name: string; statement: string }>`select name, statement from pg_prepared_statements`.execute(d.db);
        const ours = names.rows.filter((r) => r.name.startsWith('cco_'));
        if (prepared) {
          assert.equal(ours.length, 1, `one statement, prepared once for three calls: ${JSON.stringify(ours.map((r) => r.name))}`);
          assert.match(ours[0]!.statement, /insert into command_logs/);
        } else {
          assert.deepEqual(ours, []);
        }
      } finally {
        await d.close();
      }
    }
  } finally {
    await created.drop();
  }
});
