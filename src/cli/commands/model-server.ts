import { Command, InvalidArgumentError } from 'commander';

function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError('a port number (0-65535)');
  return n;
}

/** `cco model-server`: the scripted Anthropic Messages API, for trying the orchestrator without an API key. */
export function modelServerCommand(): Command {
  return new Command('model-server')
    .description('Run the scripted model server (Anthropic Messages API with scripted answers) for trying the orchestrator without an API key.')
    .option('--port <port>', 'port to listen on', port, 4100)
    .option('--host <host>', 'interface to listen on', '127.0.0.1')
    .action(async (opts: { port: number; host: string }) => {
      // Loaded when used (see withAuth in keys.ts): other verbs start without them.
      const [{ createLogger }, { startModelServer }] = await Promise.all([import('../../logger.ts'), import('../../model-server/server.ts')]);
      const logger = createLogger(process.env.LOG_LEVEL ?? 'info');
      const server = await startModelServer({ host: opts.host, port: opts.port, logger });
      process.stdout.write(
        [
          'Scripted model server ready. Point Claude Code (or `cco serve`) at it with:',
          `  ANTHROPIC_BASE_URL=${server.url} ANTHROPIC_API_KEY=sk-fake`,
          'Prompts: SCRIPT:<bash|write-edit|fail|sleep|multi|text>, SCRIPT_JSON:[...steps], or any text.',
          '',
        ].join('\n'),
      );
      let stopping = false;
      for (const signal of ['SIGINT', 'SIGTERM'] as const) {
        process.on(signal, () => {
          if (stopping) process.exit(1);
          stopping = true;
          void server.close().then(() => process.exit(0));
        });
      }
    });
}
