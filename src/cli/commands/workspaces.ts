import { Command } from 'commander';
import { describeSettings, loadConfig } from '../../config.ts';

export function workspacesCommand(): Command {
  const cmd = new Command('workspaces').description('Manage the workspaces sessions run in.');
  cmd
    .command('gc')
    .description('Remove the workspaces of sessions completed longer ago than --older-than (only folders the orchestrator made, only inside WORKSPACES_DIR).')
    .requiredOption('--older-than <age>', 'age such as 12h, 7d, 2w', '7d')
    .addHelpText('after', `\n${describeSettings()}\n`)
    .action(async (opts: { olderThan: string }) => {
      // Loaded when used (see withAuth in keys.ts): other verbs start without the database layer.
      const [{ openDatabase }, { migrate }, { createLogger }, { collectWorkspaces, parseAge }, { WorkspaceManager }] = await Promise.all([
        import('../../db/database.ts'),
        import('../../db/migrate.ts'),
        import('../../logger.ts'),
        import('../../workspaces/gc.ts'),
        import('../../workspaces/manager.ts'),
      ]);
      const age = parseAge(opts.olderThan);
      const config = loadConfig();
      const logger = createLogger(config.logLevel === 'info' ? 'warn' : config.logLevel);
      const database = await openDatabase(config.db);
      try {
        await migrate(database.db);
        const report = await collectWorkspaces(database.db, new WorkspaceManager(config.workspaces, logger), age);
        process.stdout.write(`Examined ${report.examined}, removed ${report.removed.length}, skipped ${report.skipped.length}.\n`);
        for (const s of report.skipped) process.stdout.write(`  skipped ${s.id}: ${s.reason}\n`);
      } finally {
        await database.close();
      }
    });
  return cmd;
}
