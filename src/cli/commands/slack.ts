/**
 * `cco slack map|unmap|users|outbox`: who Slack users act as, and what the outbox holds (with or
 * without a running server, like `cco keys`).
 */
import { Command } from 'commander';
import { cliActor, withAuth } from './keys.ts';

/** Loaded when used (see withAuth in keys.ts): other verbs start without the database layer. */
const slackQueries = () => import('../../db/queries/slack.ts');

const SLACK_USER = /^[UW][A-Z0-9]{2,}$/;

export function slackCommand(): Command {
  const cmd = new Command('slack').description('Slack: map Slack users to orchestrator keys; look at the outbox.');
  cmd
    .command('map')
    .description('Let a Slack user act as the orchestrator key of this name (its role; its sessions are theirs in the dashboard).')
    .argument('<slack-user-id>', 'e.g. U0123ABCD (Slack: profile → ⋮ → Copy member ID)')
    .argument('<key-name>', 'the name of an admin or user key (cco keys list)')
    .action(async (user: string, name: string) => {
      if (!SLACK_USER.test(user)) throw new Error(`invalid_request: ${user} is not a Slack user id (U… or W…)`);
      const known = await withAuth(async (auth, audit, database) => {
        await (await slackQueries()).mapUser(database.db, user, name, cliActor().name);
        audit.record({ actor: cliActor(), action: 'slack.user_mapped', target: `slack:${user}`, detail: { key_name: name } });
        return auth.principalForName(name);
      });
      process.stdout.write(`Slack user ${user} now acts as "${name}"${known ? ` (${known.role})` : ''}.\n`);
      if (!known) process.stderr.write(`warning: no live admin or user key is named "${name}" yet; under AUTH=keys ${user}'s requests are refused until one is (cco keys create --name ${name} --role user).\n`);
    });
  cmd
    .command('unmap')
    .description('Remove a mapping made by `cco slack map` (the user acts as slack:<id> again, or as SLACK_USER_MAP says).')
    .argument('<slack-user-id>')
    .action(async (user: string) => {
      const removed = await withAuth(async (_auth, audit, database) => {
        const gone = await (await slackQueries()).unmapUser(database.db, user);
        if (gone) audit.record({ actor: cliActor(), action: 'slack.user_unmapped', target: `slack:${user}` });
        return gone;
      });
      process.stdout.write(removed ? `Removed the mapping of ${user}.\n` : `${user} had no mapping.\n`);
    });
  cmd
    .command('users')
    .description('List the mappings made by `cco slack map` (SLACK_USER_MAP entries are in the settings).')
    .action(async () => {
      const rows = await withAuth(async (_auth, _audit, database) => (await slackQueries()).listUserMap(database.db));
      if (rows.length === 0) return void process.stdout.write('No mappings.\n');
      process.stdout.write(`${rows.map((r) => `${r.user_id}  ${r.key_name}  (by ${r.created_by}, ${r.created_at.toISOString().slice(0, 16).replace('T', ' ')})`).join('\n')}\n`);
    });
  cmd
    .command('outbox')
    .description('Posts to Slack by state: pending (waiting or retrying), sending, sent, failed.')
    .action(async () => {
      const counts = await withAuth(async (_auth, _audit, database) => (await slackQueries()).outboxCounts(database.db));
      const states = ['held', 'pending', 'sending', 'sent', 'failed'];
      process.stdout.write(`${states.map((s) => `${s}: ${counts[s] ?? 0}`).join('  ')}\n`);
    });
  return cmd;
}
