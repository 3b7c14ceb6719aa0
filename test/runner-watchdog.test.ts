import { spawn } from 'node:child_process';
import path from 'node:path';
import { test } from 'node:test';
import { waitFor } from './helpers/runner.ts';
import { pidsWithEnv } from './helpers/serve.ts';

const LONG = 'node -e "setTimeout(()=>{},600000)"';

/**
 * A stand-in server: watches one "turn" (a shell leading its own group, with one child in
 * the group and one that left it) and prints its watchdog's pid. With killFirst, it first
 * kills its watchdog and waits for the replacement.
 */
const SERVER = `
import { spawn } from 'node:child_process';
import { TurnWatchdog } from ${JSON.stringify(path.resolve('src/runner/watchdog.ts'))};
const w = new TurnWatchdog();
const turn = spawn('sh', ['-c', ${JSON.stringify(`${LONG} & setsid ${LONG} & wait`)}], { detached: true, stdio: 'ignore', env: { ...process.env, CCO_TURN: process.env.MARK } });
w.watch(turn.pid, 'CCO_TURN=' + process.env.MARK);
if (process.env.KILL_FIRST) {
  const first = w.pid();
  process.kill(first, 'SIGKILL');
  while (!w.pid() || w.pid() === first) await new Promise((r) => setTimeout(r, 20));
}
console.log(JSON.stringify({ watchdog: w.pid() }));
setInterval(() => {}, 1000);
`;

async function killedServerLeavesNothing(killFirst: boolean): Promise<void> {
  const mark = `test-${process.pid}-${Date.now()}`;
  const server = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', SERVER], {
    env: { ...process.env, MARK: mark, KILL_FIRST: killFirst ? '1' : '' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  server.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  try {
    const { watchdog } = await waitFor('the stand-in server ready', async () => (out.includes('\n') ? (JSON.parse(out) as { watchdog: number }) : undefined));
    await waitFor('the turn processes running', async () => pidsWithEnv('CCO_TURN', mark).length >= 3);
    server.kill('SIGKILL');
    await waitFor('every marked process gone', async () => pidsWithEnv('CCO_TURN', mark).length === 0, 10_000);
    await waitFor('the watchdog gone', async () => !alive(watchdog), 10_000);
  } finally {
    server.kill('SIGKILL');
    for (const pid of pidsWithEnv('CCO_TURN', mark)) process.kill(pid, 'SIGKILL');
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

test('when the server dies, its watchdog kills the turn group and every marked process, then exits', async () => {
  await killedServerLeavesNothing(false);
});

test('a watchdog that dies while a turn runs is replaced and told about that turn', async () => {
  await killedServerLeavesNothing(true);
});
