/**
 * `cco keys create|list|revoke`: works with or without a running server (on the
 * embedded database it joins the running server's PostgreSQL). A new key is
 * printed once, alone on the last line of stdout, so `| tail -1` takes it.
 */
import { Command, Option } from 'commander';
import os from 'node:os';
import type { AuditActor, AuditLog } from '../../audit/audit-log.ts';
import { parseExpiry } from '../../auth/keys.ts';
import { ROLES, type Role } from '../../auth/principal.ts';
import type { AuthService, KeyInfo } from '../../auth/service.ts';
import { describeSettings, loadConfig } from '../../config.ts';
import type { Database } from '../../db/database.ts';
import { AppError } from '../../lib/errors.ts';

/** Key changes made here are audited like the API's, as the command line's user. */
export const cliActor = (): AuditActor => ({ name: `cli:${os.userInfo().username}`, role: 'admin', keyId: undefined });

/**
 * Runs fn with the key store and audit log of the configured database (joining a running server's
 * embedded PostgreSQL); `unreachable` words the error when the database cannot be opened.
 */
export async function withAuth<T>(fn: (auth: AuthService, audit: AuditLog, database: Database) => Promise<T>, unreachable?: (e: Error) => Error): Promise<T> {
  const config = loadConfig();
  // The database layer is loaded when a command uses it, so that the verbs that do not (cco run,
  // tail, export, --help) start without it (loading it and the server took about 1 s per call).
  const [{ openDatabaseBesideServer }, { migrate }, { AuditLog }, { AuthService }, { createLogger }] = await Promise.all([
    import('../../db/database.ts'),
    import('../../db/migrate.ts'),
    import('../../audit/audit-log.ts'),
    import('../../auth/service.ts'),
    import('../../logger.ts'),
  ]);
  let database;
  try {
    database = await openDatabaseBesideServer(config.db);
  } catch (e: unknown) {
    throw unreachable ? unreachable(e as Error) : e;
  }
  const audit = new AuditLog(database, createLogger('warn'));
  try {
    await migrate(database.db);
    return await fn(new AuthService(database.db), audit, database);
  } catch (e: unknown) {
    // Domain errors read as the API's: the code, then what to do.
    if (e instanceof AppError) throw new Error(`${e.code}: ${e.message}`, { cause: e });
    throw e;
  } finally {
    await audit.stop();
    await database.close();
  }
}

const date = (iso: string | null) => (iso ? iso.slice(0, 16).replace('T', ' ') : '-');

export function keysTable(keys: readonly KeyInfo[]): string {
  const rows = [['NAME', 'ROLE', 'PREFIX', 'CREATED', 'LAST USED', 'EXPIRES', 'OWNER'], ...keys.map((k) => [k.name, k.role, k.prefix, date(k.created_at), date(k.last_used_at), date(k.expires_at), k.owner])];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n');
}

export function keysCommand(): Command {
  const cmd = new Command('keys').description('API keys: create, list and revoke (with or without a running server).');
  cmd
    .command('create')
    .description('Create a key and print it once (alone on the last line of stdout).')
    .requiredOption('--name <name>', 'a unique name: shown in lists and audit entries, and the owner of sessions it creates')
    .addOption(new Option('--role <role>', 'what the key may do').choices(ROLES).makeOptionMandatory())
    .option('--expires <when>', 'expiry: 30d, 12h, 90m or an ISO date (default: never)')
    .option('--owner <name>', 'hook tokens: whose sessions their events make (default: the name)')
    .addHelpText('after', `\nRoles: admin (everything), user (its own sessions), viewer (reads everything, changes nothing), hook (posts hook events only).\n\n${describeSettings()}\n`)
    .action(async (o: { name: string; role: Role; expires?: string; owner?: string }) => {
      const expiresAt = parseExpiry(o.expires);
      const { key, info } = await withAuth(async (auth, audit) => {
        const made = await auth.createKey({ name: o.name, role: o.role, expiresAt, owner: o.owner, createdBy: cliActor().name });
        audit.record({ actor: cliActor(), action: 'key.created', target: `key:${made.info.id}`, detail: { name: made.info.name, role: made.info.role, prefix: made.info.prefix } });
        return made;
      });
      process.stderr.write(`Created ${info.role} key "${info.name}" (${info.prefix}…${info.expires_at ? `, expires ${info.expires_at}` : ''}). It is shown only now:\n`);
      process.stdout.write(`${key}\n`);
    });
  cmd
    .command('list')
    .description('List live keys: name, role, prefix, created, last used, expiry (never the key).')
    .option('--revoked', 'include revoked keys')
    .option('--json', 'JSON instead of a table')
    .action(async (o: { revoked?: boolean; json?: boolean }) => {
      const keys = await withAuth((auth) => auth.listKeys({ revoked: o.revoked ?? false }));
      process.stdout.write(o.json ? `${JSON.stringify(keys, null, 2)}\n` : `${keys.length ? keysTable(keys) : 'No keys.'}\n`);
    });
  cmd
    .command('revoke')
    .description('Revoke a key by name, prefix or id; a running server refuses it within seconds.')
    .argument('<name-or-prefix>')
    .action(async (ref: string) => {
      const info = await withAuth(async (auth, audit) => {
        const revoked = await auth.revoke(ref);
        audit.record({ actor: cliActor(), action: 'key.revoked', target: `key:${revoked.id}`, detail: { name: revoked.name, role: revoked.role, prefix: revoked.prefix } });
        return revoked;
      });
      process.stdout.write(`Revoked ${info.role} key "${info.name}" (${info.prefix}…).\n`);
    });
  return cmd;
}
