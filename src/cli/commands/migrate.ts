import { Command } from 'commander';
import { describeSettings, loadConfig } from '../../config.ts';

export function migrateCommand(): Command {
  return new Command('migrate')
    .description('Apply pending database migrations and exit (the server also does this at start-up).')
    .addHelpText('after', `\n${describeSettings()}\n`)
    .action(async () => {
      const config = loadConfig();
      // Loaded when used (see withAuth in keys.ts): other verbs start without the database layer.
      const [{ openDatabase }, { migrate }] = await Promise.all([import('../../db/database.ts'), import('../../db/migrate.ts')]);
      const database = await openDatabase(config.db);
      try {
        const applied = await migrate(database.db);
        process.stdout.write(applied.length ? `Applied: ${applied.join(', ')}\n` : 'Database is up to date.\n');
      } finally {
        await database.close();
      }
    });
}
