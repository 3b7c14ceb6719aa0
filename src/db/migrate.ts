/**
 * Forward-only migrations: numbered SQL files applied in order, all pending ones
 * in one transaction under an advisory lock, so two processes starting at once
 * apply each migration exactly once (the second waits, then finds nothing to do).
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { sql, type Kysely } from 'kysely';
import type { DB } from './schema.ts';

const MIGRATIONS_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'migrations');
const LOCK_KEY = 7_320_114_001; // arbitrary, constant: identifies "cco migrations" among advisory locks

export interface Migration {
  id: number;
  name: string;
  sql: string;
}

export function listMigrations(dir = MIGRATIONS_DIR): Migration[] {
  return fs
    .readdirSync(dir)
    .filter((f) => /^\d{4}_[a-z0-9_]+\.sql$/.test(f))
    .sort()
    .map((f) => ({ id: Number(f.slice(0, 4)), name: f.slice(5, -4), sql: fs.readFileSync(path.join(dir, f), 'utf8') }));
}

/** Applies pending migrations; returns the names applied by this call. */
export async function migrate(db: Kysely<DB>, migrations = listMigrations()): Promise<string[]> {
  return db.transaction().execute(async (tx) => {
    await sql`select pg_advisory_xact_lock(${LOCK_KEY})`.execute(tx);
    await sql`create table if not exists cco_migrations (
      id integer primary key, name text not null, applied_at timestamptz not null default now())`.execute(tx);
    const done = await sql<{ id: number }>`select id from cco_migrations`.execute(tx);
    const applied = new Set(done.rows.map((r) => Number(r.id)));
    const names: string[] = [];
    for (const m of migrations) {
      if (applied.has(m.id)) continue;
      try {
        await sql.raw(m.sql).execute(tx);
      } catch (e: unknown) {
        throw new Error(`Migration ${m.id}_${m.name} failed: ${(e as Error).message}`, { cause: e });
      }
      await sql`insert into cco_migrations (id, name) values (${m.id}, ${m.name})`.execute(tx);
      names.push(`${String(m.id).padStart(4, '0')}_${m.name}`);
    }
    return names;
  });
}
