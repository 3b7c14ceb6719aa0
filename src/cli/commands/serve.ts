import { Command } from 'commander';
import { describeSettings, loadConfig } from '../../config.ts';
import { runServer } from '../../main.ts';

export function serveCommand(): Command {
  return new Command('serve')
    .description('Start the API (and dashboard) server. Same as `npm start`.')
    .addHelpText('after', `\n${describeSettings()}\n`)
    .action(async () => {
      await runServer(loadConfig());
    });
}
