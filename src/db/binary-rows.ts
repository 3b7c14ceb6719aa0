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

/** One element's bytes (null: SQL NULL). */
function encode(type: ElementType, v: unknown): Buffer | null {
  if (v === null || v === undefined) return null;
  switch (type) {
    case 'text':
      if (typeof v !== 'string') throw new TypeError(`a text element must be a string, got ${typeof v}`);
      return Buffer.from(v, 'utf8');
    case 'int4': {
      if (typeof v !== 'number' || !Number.isInteger(v) || v < -2147483648 || v > 2147483647) throw new TypeError(`an int4 element must be a 32-bit integer, got ${String(v)}`);
      const b = Buffer.allocUnsafe(4);
      b.writeInt32BE(v);
      return b;
    }
    case 'bool':
      if (typeof v !== 'boolean') throw new TypeError(`a bool element must be a boolean, got ${typeof v}`);
      return Buffer.from([v ? 1 : 0]);
    case 'uuid':
      if (typeof v !== 'string' || !UUID.test(v)) throw new TypeError(`a uuid element must be a UUID, got ${String(v)}`);
      return Buffer.from(v.replaceAll('-', ''), 'hex');
    case 'jsonb': {
      const json = JSON.stringify(v);
      const b = Buffer.allocUnsafe(1 + Buffer.byteLength(json));
      b[0] = 1;
      b.write(json, 1, 'utf8');
      return b;
    }
  }
}

/** A one-dimensional array of `type` in PostgreSQL's binary format (array_send). */
export function binaryArray(type: ElementType, values: readonly unknown[]): Buffer {
  const elements = values.map((v) => encode(type, v));
  let size = 20;
  for (const e of elements) size += 4 + (e?.length ?? 0);
  const out = Buffer.allocUnsafe(size);
  out.writeInt32BE(1, 0); // dimensions
  out.writeInt32BE(elements.includes(null) ? 1 : 0, 4);
  out.writeInt32BE(OID[type], 8);
  out.writeInt32BE(elements.length, 12);
  out.writeInt32BE(1, 16); // lower bound
  let at = 20;
  for (const e of elements) {
    if (e === null) {
      out.writeInt32BE(-1, at);
      at += 4;
    } else {
      out.writeInt32BE(e.length, at);
      e.copy(out, at + 4);
      at += 4 + e.length;
    }
  }
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
