import { Command, Option } from 'commander';
import { describeSettings, loadConfig } from '../../config.ts';

export function serveCommand(): Command {
  return new Command('serve')
    .description('Start the server: API, dashboard and runner (ROLE=all), or one part of a scaled-out deployment. Same as `npm start`.')
    .addOption(new Option('--role <role>', 'all (one machine), api (API, dashboard, hooks, live events) or runner (runs queued turns); sets ROLE').choices(['all', 'api', 'runner']))
    .option('--concurrency <n>', 'turns this process runs at once; sets MAX_CONCURRENT_RUNS')
    .addHelpText('after', `\n${describeSettings()}\n`)
    .action(async (opts: { role?: string; concurrency?: string }) => {
      // Flags win over the environment; both go through the same checks (loadConfig).
      const env = { ...process.env };
      if (opts.role !== undefined) env.ROLE = opts.role;
      if (opts.concurrency !== undefined) env.MAX_CONCURRENT_RUNS = opts.concurrency;
      const config = loadConfig(env);
      // Loaded here, not at the top: the server is most of the code, and the other verbs (cco run,
      // tail, export, --help) should not pay for loading it on every call.
      const { runServer } = await import('../../main.ts');
      await runServer(config);
    });
}
