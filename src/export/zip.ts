/**
 * A streaming zip writer, store-only (no compression) and without Zip64: each entry is
 * written as its data comes (sizes and CRC-32 follow in a data descriptor), and the
 * central directory at the end. Enough for the export's three CSV files; no dependency.
 * An entry or archive past 4 GiB throws (the connection is then cut: a truncated zip).
 */
import { crc32 } from 'node:zlib';

const MAX = 0xffffffff;
const FLAGS = 0x0808; // bit 3: sizes in a data descriptor; bit 11: UTF-8 names

function dosTime(d: Date): { time: number; date: number } {
  return {
    time: (d.getHours() << 11) | (d.getMinutes() << 5) | Math.floor(d.getSeconds() / 2),
    date: ((d.getFullYear() - 1980) << 9) | ((d.getMonth() + 1) << 5) | d.getDate(),
  };
}

interface Entry {
  name: Buffer;
  offset: number;
  crc: number;
  size: number;
}

export class ZipWriter {
  #offset = 0;
  #entries: Entry[] = [];
  #current: Entry | undefined;
  readonly #when = dosTime(new Date());

  #out(b: Buffer): Buffer {
    this.#offset += b.length;
    if (this.#offset > MAX) throw new Error('zip export larger than 4 GiB (Zip64 is not supported)');
    return b;
  }

  /** The local header of a new entry. */
  begin(name: string): Buffer {
    if (this.#current) throw new Error('zip entry still open');
    const n = Buffer.from(name, 'utf8');
    this.#current = { name: n, offset: this.#offset, crc: 0, size: 0 };
    const h = Buffer.alloc(30);
    h.writeUInt32LE(0x04034b50, 0);
    h.writeUInt16LE(20, 4);
    h.writeUInt16LE(FLAGS, 6);
    h.writeUInt16LE(0, 8); // stored
    h.writeUInt16LE(this.#when.time, 10);
    h.writeUInt16LE(this.#when.date, 12);
    h.writeUInt16LE(n.length, 26);
    return this.#out(Buffer.concat([h, n]));
  }

  /** Entry data, passed through (counted and checksummed). */
  data(chunk: Buffer): Buffer {
    const e = this.#current!;
    e.crc = crc32(chunk, e.crc);
    e.size += chunk.length;
    return this.#out(chunk);
  }

  /** The entry's data descriptor. */
  end(): Buffer {
    const e = this.#current!;
    this.#current = undefined;
    this.#entries.push(e);
    const d = Buffer.alloc(16);
    d.writeUInt32LE(0x08074b50, 0);
    d.writeUInt32LE(e.crc >>> 0, 4);
    d.writeUInt32LE(e.size, 8);
    d.writeUInt32LE(e.size, 12);
    return this.#out(d);
  }

  /** The central directory and its end record. */
  finish(): Buffer {
    const start = this.#offset;
    const parts: Buffer[] = [];
    for (const e of this.#entries) {
      const c = Buffer.alloc(46);
      c.writeUInt32LE(0x02014b50, 0);
      c.writeUInt16LE(20, 4);
      c.writeUInt16LE(20, 6);
      c.writeUInt16LE(FLAGS, 8);
      c.writeUInt16LE(0, 10);
      c.writeUInt16LE(this.#when.time, 12);
      c.writeUInt16LE(this.#when.date, 14);
      c.writeUInt32LE(e.crc >>> 0, 16);
      c.writeUInt32LE(e.size, 20);
      c.writeUInt32LE(e.size, 24);
      c.writeUInt16LE(e.name.length, 28);
      c.writeUInt32LE(e.offset, 42);
      parts.push(c, e.name);
    }
    const dir = Buffer.concat(parts);
    const end = Buffer.alloc(22);
    end.writeUInt32LE(0x06054b50, 0);
    end.writeUInt16LE(this.#entries.length, 8);
    end.writeUInt16LE(this.#entries.length, 10);
    end.writeUInt32LE(dir.length, 12);
    end.writeUInt32LE(start, 16);
    return this.#out(Buffer.concat([dir, end]));
  }
}
