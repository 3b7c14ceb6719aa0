/**
 * `npm run model-server`: runs the scripted model server standalone, for trying
 * the orchestrator without an API key. Port from MODEL_SERVER_PORT (default 4100).
 */
import { createLogger } from '../logger.ts';
import { startModelServer } from './server.ts';

const port = Number(process.env.MODEL_SERVER_PORT ?? 4100);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`MODEL_SERVER_PORT must be a port number (0-65535), got "${process.env.MODEL_SERVER_PORT}"`);
  process.exit(2);
}
const logger = createLogger(process.env.LOG_LEVEL ?? 'info');
const server = await startModelServer({ host: process.env.MODEL_SERVER_HOST ?? '127.0.0.1', port, logger });
console.log(`Scripted model server ready. Point Claude Code at it with:`);
console.log(`  ANTHROPIC_BASE_URL=${server.url} ANTHROPIC_API_KEY=sk-fake`);
console.log('Prompts: SCRIPT:<bash|write-edit|fail|sleep|multi|text>, SCRIPT_JSON:[...steps], or any text.');

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) process.exit(1);
    stopping = true;
    void server.close().then(() => process.exit(0));
  });
}
