/**
 * The key format: `cco_` + 30 random base62 characters + a 6-character base62
 * CRC32 of them (the layout GitHub uses for its tokens), so secret scanners can
 * recognise a key and tell a real one from a typo without asking the server,
 * and the server refuses a mistyped key before touching the database.
 * Only the SHA-256 of a key is stored, with a display prefix (`cco_` + 8).
 */
import { createHash, randomInt } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { parseAge } from '../lib/duration.ts';

export const KEY_PREFIX = 'cco_';
const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const RANDOM_CHARS = 30; // 30 x log2(62) = 178 bits
const CHECK_CHARS = 6; // 62^6 > 2^32
export const KEY_LENGTH = KEY_PREFIX.length + RANDOM_CHARS + CHECK_CHARS;
const SHAPE = new RegExp(`^${KEY_PREFIX}[0-9A-Za-z]{${RANDOM_CHARS + CHECK_CHARS}}$`);

function base62(n: number, width: number): string {
  let out = '';
  let v = n;
  for (let i = 0; i < width; i++) {
    out = ALPHABET[v % 62]! + out;
    v = Math.floor(v / 62);
  }
  return out;
}

const checksum = (random: string) => base62(crc32(random) >>> 0, CHECK_CHARS);

/** A new key (shown once, never stored). */
export function generateKey(): string {
  let random = '';
  for (let i = 0; i < RANDOM_CHARS; i++) random += ALPHABET[randomInt(62)];
  return `${KEY_PREFIX}${random}${checksum(random)}`;
}

/** Right shape and checksum: worth a database lookup. */
export function isWellFormedKey(key: string): boolean {
  if (key.length !== KEY_LENGTH || !SHAPE.test(key)) return false;
  const random = key.slice(KEY_PREFIX.length, KEY_PREFIX.length + RANDOM_CHARS);
  return checksum(random) === key.slice(KEY_PREFIX.length + RANDOM_CHARS);
}

export const hashSecret = (secret: string): string => createHash('sha256').update(secret).digest('hex');

/** What lists show: enough to tell keys apart, too little to use. */
export const displayPrefix = (key: string): string => key.slice(0, KEY_PREFIX.length + 8);

/** Random tokens for browser sign-ins and one-time links (not keys: no checksum, never typed). */
export function randomToken(chars = 40): string {
  let out = '';
  for (let i = 0; i < chars; i++) out += ALPHABET[randomInt(62)];
  return out;
}

/** A duration (`30d`, `12h`, `90m`, `2w`: parseAge, as `cco workspaces gc` takes) or an ISO date → the expiry; undefined for none. */
export function parseExpiry(text: string | undefined, now = new Date()): Date | undefined {
  if (text === undefined || text === '' || text === 'never') return undefined;
  if (/^\d+[smhdw]$/.test(text.trim())) {
    const ms = parseAge(text);
    if (ms <= 0) throw new Error(`expiry must be in the future, got ${text}`);
    return new Date(now.getTime() + ms);
  }
  const d = new Date(text);
  if (Number.isNaN(d.getTime()) || !/^\d{4}-\d{2}-\d{2}/.test(text)) throw new Error(`expiry must look like 30d, 12h, 90m or an ISO date, got ${text}`);
  if (d.getTime() <= now.getTime()) throw new Error(`expiry must be in the future, got ${text}`);
  return d;
}
