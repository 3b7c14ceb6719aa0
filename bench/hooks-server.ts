/**
 * The orchestrator server for bench/hooks.ts, in its own process as in real use
 * (Claude Code and its hooks never share a process with the server). Talks to
 * the bench over IPC: sends {ready,url} and {row,id,at} for every committed tool
 * row (at = wall clock in ms, sub-ms precision); stops on "stop".
 */
import { loadConfig } from '../src/config.ts';
import { createLogger } from '../src/logger.ts';
import { startServer } from '../src/main.ts';

const send = (m: unknown) => process.send?.(m);
const server = await startServer(loadConfig({ ...process.env, HOST: '127.0.0.1', LOG_LEVEL: 'silent', AUTH: 'off' }), createLogger('silent', { pretty: false }));
server.core.events.subscribe((e) => {
  if (e.type === 'log.created') send({ type: 'row', id: e.log.tool_use_id, at: performance.timeOrigin + performance.now() });
});
process.on('message', (m) => {
  if (m === 'stop') void server.stop().then(() => process.exit(0));
});
send({ type: 'ready', url: server.url });
