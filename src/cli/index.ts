/** The `cco` command line. Each verb lives in commands/<verb>.ts. */
import { Command } from 'commander';
import { ConfigError, describeSettings, loadConfig } from '../config.ts';
import { VERSION } from '../version.ts';
import { doctorCommand } from './commands/doctor.ts';
import { exportCommand } from './commands/export.ts';
import { hooksCommand } from './commands/hooks.ts';
import { keysCommand } from './commands/keys.ts';
import { migrateCommand } from './commands/migrate.ts';
import { modelServerCommand } from './commands/model-server.ts';
import { runCommand, tailCommand } from './commands/run.ts';
import { serveCommand } from './commands/serve.ts';
import { slackCommand } from './commands/slack.ts';
import { workspacesCommand } from './commands/workspaces.ts';

export function buildCli(): Command {
  const program = new Command('cco')
    .description('Claude Code Orchestrator: run Claude Code as a background agent with recorded, resumable sessions.')
    .version(VERSION)
    .addHelpText('after', `\n${describeSettings()}\n`)
    .showHelpAfterError();
  program.addCommand(serveCommand());
  program.addCommand(migrateCommand());
  program.addCommand(doctorCommand());
  program.addCommand(hooksCommand());
  program.addCommand(keysCommand());
  program.addCommand(workspacesCommand());
  program.addCommand(slackCommand());
  program.addCommand(modelServerCommand());
  program.addCommand(runCommand());
  program.addCommand(tailCommand());
  program.addCommand(exportCommand());
  return program;
}

export async function runCli(argv: string[]): Promise<void> {
  try {
    await buildCli().parseAsync(argv);
  } catch (e: unknown) {
    if (e instanceof ConfigError) {
      process.stderr.write(`${e.message}\n`);
      process.exit(2);
    }
    process.stderr.write(`cco: ${(e as Error).message}\n`);
    process.exit(1);
  }
}

export { loadConfig };
