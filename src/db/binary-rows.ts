/**
 * A batch's rows sent to PostgreSQL as one array per column, in the binary wire format, and read
 * back with `unnest(...) with ordinality`. node-postgres sends a Buffer parameter as binary, so
 * PostgreSQL copies each element as it stands (array_recv): nothing is escaped here or parsed
 * there. The batch statements used to send their rows as one JSON text for json_to_recordset;
 * a profile of the database during hook ingest put a third of its CPU in lexing that text and
 * unescaping its strings (every tool result, whole), before jsonb columns parsed their part again.
 *
 * Element formats (PostgreSQL's *_send functions): text is its UTF-8 bytes; int4 four bytes big
 * endian; bool one byte; uuid its sixteen bytes; jsonb a version byte (1) then the JSON text,
 * which PostgreSQL still parses (once).
 */
import { sql, type RawBuilder } from 'kysely';

export type ElementType = 'text' | 'int4' | 'bool' | 'uuid' | 'jsonb';

const OID: Record<ElementType, number> = { text: 25, int4: 23, bool: 16, uuid: 2950, jsonb: 3802 };

const UUID = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i;

/** One element as a string to write as UTF-8 (text, uuid as hex, jsonb's JSON), a number, a boolean, or null. */
function check(type: ElementType, v: unknown): string | number | boolean | null {
  if (v === null || v === undefined) return null;
  switch (type) {
    case 'text':
      if (typeof v !== 'string') throw new TypeError(`a text element must be a string, got ${typeof v}`);
      return v;
    case 'int4':
      if (typeof v !== 'number' || !Number.isInteger(v) || v < -2147483648 || v > 2147483647) throw new TypeError(`an int4 element must be a 32-bit integer, got ${String(v)}`);
      return v;
    case 'bool':
      if (typeof v !== 'boolean') throw new TypeError(`a bool element must be a boolean, got ${typeof v}`);
      return v;
    case 'uuid':
      if (typeof v !== 'string' || !UUID.test(v)) throw new TypeError(`a uuid element must be a UUID, got ${String(v)}`);
      return v.replaceAll('-', '');
    case 'jsonb':
      return JSON.stringify(v);
  }
}

/** Bytes of one checked element after its length word. */
function sizeOf(type: ElementType, e: string | number | boolean): number {
  switch (type) {
    case 'int4':
      return 4;
    case 'bool':
      return 1;
    case 'uuid':
      return 16;
    case 'jsonb':
      return 1 + Buffer.byteLength(e as string);
    case 'text':
      return Buffer.byteLength(e as string);
  }
}

/** A one-dimensional array of `type` in PostgreSQL's binary format (array_send), written in one buffer. */
export function binaryArray(type: ElementType, values: readonly unknown[]): Buffer {
  const elements = values.map((v) => check(type, v));
  const sizes = elements.map((e) => (e === null ? -1 : sizeOf(type, e)));
  let total = 20;
  for (const n of sizes) total += 4 + Math.max(0, n);
  const out = Buffer.allocUnsafe(total);
  out.writeInt32BE(1, 0); // dimensions
  out.writeInt32BE(elements.includes(null) ? 1 : 0, 4);
  out.writeInt32BE(OID[type], 8);
  out.writeInt32BE(elements.length, 12);
  out.writeInt32BE(1, 16); // lower bound
  let at = 20;
  elements.forEach((e, i) => {
    const n = sizes[i]!;
    out.writeInt32BE(n, at);
    at += 4;
    if (e === null) return;
    if (type === 'int4') out.writeInt32BE(e as number, at);
    else if (type === 'bool') out[at] = e ? 1 : 0;
    else if (type === 'uuid') out.write(e as string, at, 16, 'hex');
    else if (type === 'jsonb') {
      out[at] = 1;
      out.write(e as string, at + 1, n - 1, 'utf8');
    } else out.write(e as string, at, n, 'utf8');
    at += n;
  });
  return out;
}

/**
 * `unnest($1::type[], $2::type[], …) with ordinality as alias(col, …, ord)`: the rows as a FROM
 * item, one column per entry of `columns` (in its order) and `ord`, each row's place from 1.
 * The statement's text depends only on `alias` and `columns`, so it may be PREPARED.
 */
export function unnestRows<R extends object>(alias: string, columns: { readonly [K in keyof R & string]?: ElementType }, rows: readonly R[]): RawBuilder<unknown> {
  const names = Object.keys(columns) as (keyof R & string)[];
  const arrays = names.map((name) => {
    const type = columns[name] as ElementType;
    return sql`${binaryArray(type, rows.map((r) => r[name]))}::${sql.raw(type)}[]`;
  });
  return sql`unnest(${sql.join(arrays)}) with ordinality as ${sql.raw(alias)}(${sql.raw(names.join(', '))}, ord)`;
}
