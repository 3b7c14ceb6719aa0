/** Argument parsers shared by the `cco hooks` commands. */
import { InvalidArgumentError } from 'commander';
import os from 'node:os';
import path from 'node:path';

export function parseUrl(value: string): string {
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    throw new InvalidArgumentError('not a URL');
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new InvalidArgumentError('must be http:// or https://');
  return value.replace(/\/+$/, '');
}

/** A folder argument: ~ expanded, relative to the current folder. */
export function resolveDir(dir: string): string {
  return path.resolve(dir === '~' || dir.startsWith('~/') ? path.join(os.homedir(), dir.slice(1)) : dir);
}
