/** Batch rows as binary arrays (src/db/binary-rows.ts): what PostgreSQL reads back is what was sent. */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { sql } from 'kysely';
import { binaryArray, unnestRows } from '../src/db/binary-rows.ts';
import { PREPARED } from '../src/db/prepared.ts';
import { createTestDb, type TestDb } from './helpers/db.ts';

let t: TestDb;
before(async () => {
  t = await createTestDb({ migrate: false });
});
after(async () => t.close());

const COLUMNS = { s: 'text', n: 'int4', b: 'bool', u: 'uuid', j: 'jsonb' } as const;
interface Row {
  s: string | null;
  n: number | null;
  b: boolean | null;
  u: string | null;
  j: unknown;
}

const rows: Row[] = [
  { s: 'plain', n: 0, b: true, u: '00000000-0000-0000-0000-000000000000', j: { a: 1 } },
  // What JSON and array literals had to escape: quotes, backslashes, braces, commas, newlines, tabs.
  { s: 'say "hi"\\ {a,b}\n\ttab', n: -2147483648, b: false, u: 'F47AC10B-58CC-4372-A567-0E02B2C3D479', j: 'a string' },
  { s: 'Ünïcödé, 日本語, emoji 🎉, U+FFFD \uFFFD', n: 2147483647, b: null, u: null, j: [1, 'two', { three: null }] },
  { s: null, n: null, b: true, u: 'f47ac10b58cc4372a5670e02b2c3d479', j: null },
  { s: '', n: 42, b: false, u: '123e4567-e89b-12d3-a456-426614174000', j: { nested: { text: 'line1\nline2 "q" \\', n: 1.5, t: true } } },
];

test('every type, NULLs and awkward text come back as sent, in order, numbered from 1', async () => {
  const r = await sql<{ s: string | null; n: number | null; b: boolean | null; u: string | null; j: unknown; ord: string }>`${PREPARED}
    select s, n, b, u::text as u, j, ord::text as ord from ${unnestRows('x', COLUMNS, rows)} order by ord`.execute(t.database.db);
  assert.deepEqual(r.rows.map((x) => x.ord), ['1', '2', '3', '4', '5']);
  r.rows.forEach((got, i) => {
    const sent = rows[i]!;
    assert.equal(got.s, sent.s, `row ${i + 1} text`);
    assert.equal(got.n, sent.n, `row ${i + 1} int4`);
    assert.equal(got.b, sent.b, `row ${i + 1} bool`);
    const uuid = sent.u === null ? null : sent.u.toLowerCase().replace(/^(.{8})-?(.{4})-?(.{4})-?(.{4})-?(.{12})$/, '$1-$2-$3-$4-$5');
    assert.equal(got.u, uuid, `row ${i + 1} uuid`);
    assert.deepEqual(got.j, sent.j, `row ${i + 1} jsonb`);
  });
});

test('the same statement text for any batch, so it can be prepared once', async () => {
  const one = unnestRows('x', COLUMNS, rows.slice(0, 1)).compile(t.database.db).sql;
  const many = unnestRows('x', COLUMNS, rows).compile(t.database.db).sql;
  assert.equal(one, many);
  assert.match(one, /^unnest\(\$1::text\[\], \$2::int4\[\], \$3::bool\[\], \$4::uuid\[\], \$5::jsonb\[\]\) with ordinality as x\(s, n, b, u, j, ord\)$/);
  const empty = await sql<{ n: number }>`select count(*)::int as n from ${unnestRows('x', COLUMNS, [])}`.execute(t.database.db);
  assert.equal(empty.rows[0]?.n, 0);
});

test('a value of the wrong kind is refused before anything is sent', () => {
  assert.throws(() => binaryArray('int4', [2 ** 31]), /32-bit integer/);
  assert.throws(() => binaryArray('int4', [1.5]), /32-bit integer/);
  assert.throws(() => binaryArray('uuid', ['not-a-uuid']), /UUID/);
  assert.throws(() => binaryArray('text', [5]), /string/);
  assert.throws(() => binaryArray('bool', ['true']), /boolean/);
});

test('the header PostgreSQL reads: one dimension, the NULL flag, the element type, the length', () => {
  const a = binaryArray('text', ['ab', null]);
  assert.deepEqual([a.readInt32BE(0), a.readInt32BE(4), a.readInt32BE(8), a.readInt32BE(12), a.readInt32BE(16)], [1, 1, 25, 2, 1]);
  assert.deepEqual([a.readInt32BE(20), a.subarray(24, 26).toString(), a.readInt32BE(26)], [2, 'ab', -1]);
  assert.equal(a.length, 30);
  assert.equal(binaryArray('int4', [7]).readInt32BE(8), 23);
});
