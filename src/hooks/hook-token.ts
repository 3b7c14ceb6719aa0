/**
 * The hook token the forwarder sends: a key with role `hook` (it may only post
 * hook events), written to SPOOL/token as the header line curl reads with
 * `-H @file`, readable by its user only.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isWellFormedKey } from '../auth/keys.ts';
import { writeFileAtomic } from './installer.ts';

export const tokenFile = (spoolDir: string) => path.join(spoolDir, 'token');

/** The key in an installed token file, or undefined. */
export function readHookToken(spoolDir: string): string | undefined {
  try {
    const m = /^authorization:\s*Bearer\s+(\S+)\s*$/im.exec(fs.readFileSync(tokenFile(spoolDir), 'utf8'));
    return m?.[1];
  } catch {
    return undefined;
  }
}

export function writeHookToken(spoolDir: string, key: string): string {
  if (!isWellFormedKey(key)) throw new Error('the hook token must be a cco_ key (cco keys create --role hook)');
  fs.mkdirSync(spoolDir, { recursive: true, mode: 0o700 });
  const file = tokenFile(spoolDir);
  writeFileAtomic(file, `authorization: Bearer ${key}\n`, 0o600);
  // writeFileAtomic keeps an existing file's mode; a token is always owner-only.
  fs.chmodSync(file, 0o600);
  return file;
}

/** A default name for a new hook token: hook-<user>@<host>, in the characters key names allow. */
export function defaultHookTokenName(): string {
  const clean = (s: string) => s.replace(/[^A-Za-z0-9._+-]/g, '-').slice(0, 40) || 'x';
  return `hook-${clean(os.userInfo().username)}@${clean(os.hostname())}`;
}
