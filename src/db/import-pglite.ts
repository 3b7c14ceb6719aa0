/**
 * Carries a data folder made by earlier versions (embedded PGlite in DATA_DIR/pglite) over to
 * the embedded PostgreSQL that replaced it: once, at start, before anything else writes. The
 * old folder is renamed, not deleted, so nothing is lost if the copy is ever doubted.
 *
 * PGlite is loaded only here (it holds 700+ MB while open), so a server that has nothing to
 * import never pays for it.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Kysely } from 'kysely';
import type pg from 'pg';
import { migrate } from './migrate.ts';
import { PGliteDialect } from './pglite-dialect.ts';
import type { DB } from './schema.ts';

/** Parents before children (foreign keys); tables added later are copied after these. */
const FIRST = ['sessions', 'session_messages', 'command_logs', 'turns', 'session_events', 'slack_threads'];
const CHUNK = 500;

export interface ImportResult {
  from: string;
  movedTo: string;
  rows: Record<string, number>;
}

export function pgliteFolder(dataDir: string): string | undefined {
  const dir = path.join(dataDir, 'pglite');
  return fs.existsSync(path.join(dir, 'PG_VERSION')) ? dir : undefined;
}

/**
 * Copies every row of the old PGlite database into `target` (migrated, and empty of sessions),
 * in one transaction on the target, then renames the old folder to `pglite.imported-<time>`.
 */
/** The caller holds DATA_DIR's lock (openDatabase does). */
export async function importPglite(dataDir: string, target: pg.Pool, targetDb: Kysely<DB>): Promise<ImportResult> {
  const from = pgliteFolder(dataDir)!;
  const { PGlite } = await import('@electric-sql/pglite');
  const old = await PGlite.create(from);
  const oldDb = new Kysely<DB>({ dialect: new PGliteDialect(old) });
  const rows: Record<string, number> = {};
  try {
    await migrate(oldDb); // bring the old schema to this version first, so both sides have the same columns
    await migrate(targetDb);
    const present = (await old.query<{ table_name: string }>(`select table_name from information_schema.tables where table_schema = 'public' and table_type = 'BASE TABLE' and table_name <> 'cco_migrations'`)).rows.map((r) => r.table_name);
    const order = [...FIRST.filter((t) => present.includes(t)), ...present.filter((t) => !FIRST.includes(t)).sort()];
    const client = await target.connect();
    try {
      await client.query('begin');
      const existing = await client.query<{ n: string }>('select count(*)::text as n from sessions');
      if (Number(existing.rows[0]?.n) > 0) throw new Error(`both ${from} (PGlite, from an older version) and the embedded PostgreSQL hold sessions; move ${from} out of the data folder to start with the PostgreSQL data only`);
      for (const table of order) {
        rows[table] = 0;
        // Generated columns (the search vectors of 0016) are computed by the target, never copied.
        const stored = await client.query<{ c: string }>(
          `select column_name as c from information_schema.columns where table_schema = 'public' and table_name = $1 and is_generated = 'NEVER' order by ordinal_position`,
          [table],
        );
        const cols = stored.rows.map((r) => ident(r.c)).join(', ');
        for (let offset = 0; ; offset += CHUNK) {
          // ctid order is stable for a table nobody writes; each chunk goes over as one JSON array.
          const chunk = await old.query<{ r: unknown }>(`select to_jsonb(t) as r from ${ident(table)} t order by ctid limit ${CHUNK} offset ${offset}`);
          if (chunk.rows.length === 0) break;
          await client.query(`insert into ${ident(table)} (${cols}) select ${cols} from jsonb_populate_recordset(null::${ident(table)}, $1::jsonb)`, [JSON.stringify(chunk.rows.map((x) => x.r))]);
          rows[table] += chunk.rows.length;
        }
        // Only tables with an id column have a sequence to move past the copied ids.
        const serial = await client.query<{ s: string | null }>(
          `select pg_get_serial_sequence(quote_ident(c.table_name), c.column_name) as s from information_schema.columns c where c.table_schema = 'public' and c.table_name = $1 and c.column_name = 'id'`,
          [table],
        );
        const seq = serial.rows[0]?.s;
        if (seq) await client.query(`select setval($1, greatest((select coalesce(max(id), 0) from ${ident(table)}), 1))`, [seq]);
      }
      // COMMIT of an aborted transaction answers ROLLBACK instead of failing: check which it was.
      const done = await client.query('commit');
      if (done.command !== 'COMMIT') throw new Error('the import transaction was rolled back');
    } catch (e: unknown) {
      await client.query('rollback').catch(() => {});
      throw e;
    } finally {
      client.release();
    }
  } finally {
    await oldDb.destroy().catch(() => {});
    if (!old.closed) await old.close().catch(() => {});
  }
  const movedTo = `${from}.imported-${new Date().toISOString().replace(/[:.]/g, '-')}`;
  fs.renameSync(from, movedTo);
  return { from, movedTo, rows };
}

function ident(name: string): string {
  if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`unexpected table name ${name}`);
  return `"${name}"`;
}
