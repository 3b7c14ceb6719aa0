/**
 * The first start under AUTH=keys: with no key at all, the server makes an admin
 * key and a one-time dashboard sign-in link, which `cco serve` prints once (to
 * stdout, never to the log). Two servers starting at once make one key: the
 * second finds the name taken and says nothing.
 */
import { AppError } from '../lib/errors.ts';
import type { AuthService } from './service.ts';

export interface FirstKey {
  name: string;
  key: string;
  /** Opens the dashboard signed in, once, within 24 h. */
  signInUrl: string;
}

export const FIRST_KEY_NAME = 'admin';

export async function ensureFirstKey(auth: AuthService, publicUrl: string): Promise<FirstKey | undefined> {
  if (await auth.hasAnyKey()) return undefined;
  try {
    const { key, info } = await auth.createKey({ name: FIRST_KEY_NAME, role: 'admin', createdBy: 'first start' });
    const code = await auth.createSignInCode(info.id);
    return { name: info.name, key, signInUrl: `${publicUrl}/api/auth/link?code=${code}` };
  } catch (e: unknown) {
    if (e instanceof AppError && e.code === 'key_name_taken') return undefined;
    throw e;
  }
}

/** What `cco serve` prints: the key alone on its own line, so scripts can take it. */
export function firstKeyNotice(k: FirstKey): string {
  return [
    '',
    `First start: created the admin key "${k.name}". It is shown only now; keep it somewhere safe:`,
    '',
    k.key,
    '',
    `Open the dashboard signed in (one use, within 24 hours): ${k.signInUrl}`,
    'More keys: cco keys create --name NAME --role admin|user|viewer',
    '',
  ].join('\n');
}
