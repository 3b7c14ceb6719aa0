/**
 * A runner stand-in in its own process, for tests that freeze (SIGSTOP) or kill it: takes turns
 * from the queue at argv[2] and prints one JSON line per event (started, aborted, finished).
 * A handler runs until its signal fires, or for argv[3] ms when given. SIGUSR2 cuts it off from the
 * database without it noticing (every query from then on hangs), as a network partition would.
 */
import pg from 'pg';
import { createLogger } from '../../src/logger.ts';
import { TurnQueue } from '../../src/queue/turn-queue.ts';

const [url, holdMs] = process.argv.slice(2);
const say = (o: object) => process.stdout.write(`${JSON.stringify({ ...o, at: Date.now() })}\n`);
process.on('SIGUSR2', () => {
  const hang = () => new Promise(() => {});
  pg.Client.prototype.query = hang as unknown as typeof pg.Client.prototype.query;
  pg.Pool.prototype.query = hang as unknown as typeof pg.Pool.prototype.query;
  say({ event: 'partitioned' });
});
const queue = new TurnQueue({ connectionString: url!, log: createLogger('silent', { pretty: false }), superviseSeconds: 1, pollingSeconds: 0.5 });
await queue.start();
await queue.work(2, async (job, signal) => {
  say({ event: 'started', ...job });
  await new Promise<void>((resolve) => {
    signal.addEventListener('abort', () => {
      say({ event: 'aborted', ...job, reason: (signal.reason as Error)?.message });
      resolve();
    });
    if (holdMs) setTimeout(resolve, Number(holdMs));
  });
  say({ event: 'finished', ...job });
});
say({ event: 'ready' });
process.on('SIGTERM', () => void queue.stop(5000).then(() => process.exit(0)));
