/** Opaque keyset-pagination cursors: base64url JSON, validated on the way back in. */
import { badRequest } from './errors.ts';

export function encodeCursor(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

export function decodeCursor<T>(cursor: string, check: (v: unknown) => v is T): T {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw badRequest('invalid_cursor', 'cursor is not one this API returned');
  }
  if (!check(value)) throw badRequest('invalid_cursor', 'cursor is not one this API returned');
  return value;
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const isUuid = (v: unknown): v is string => typeof v === 'string' && UUID_RE.test(v);

export const isIdCursor = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

/**
 * Only the form this API writes (Date#toISOString, years 0001-9999): Date.parse also
 * takes "99999-01-01" or "+275760-…", which PostgreSQL cannot read (a 500 otherwise).
 */
const ISO_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const isIsoTime = (s: unknown): s is string =>
  typeof s === 'string' && ISO_RE.test(s) && !s.startsWith('0000') && !Number.isNaN(Date.parse(s)) && new Date(s).toISOString() === s;

export const isTimeIdCursor = (v: unknown): v is [string, string] => Array.isArray(v) && v.length === 2 && isIsoTime(v[0]) && isUuid(v[1]);
