import { test } from 'node:test';
import { waitFor } from './helpers/runner.ts';
import { pidsWithEnv, serverFixture, startServeProcess } from './helpers/serve.ts';

const LONG = 'node -e "setTimeout(()=>{},600000)"';

test('after kill -9 of the server, no process of a running turn outlives it by more than a few seconds', async () => {
  const { env, cleanup } = await serverFixture('cco-orphans-');
  try {
    const server = await startServeProcess(env, 180_000);
    // One tool child stays in Claude Code's process group; the other leaves it (setsid).
    const command = `setsid ${LONG} >/dev/null 2>&1 & ${LONG}`;
    const script = [{ tool: 'Bash', input: { command, description: 'Wait', timeout: 600_000 } }, { text: 'never reached' }];
    const res = await fetch(`${server.url}/api/sessions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ prompt: `SCRIPT_JSON:${JSON.stringify(script)}`, allowed_tools: ['Bash'] }),
    });
    const created = (await res.json()) as { id: string };
    // claude, the Bash shell and the two node children (the shell may exec the last one)
    await waitFor('the tool children running', async () => pidsWithEnv('CCO_SESSION_ID', created.id, { notComm: 'bwrap' }).length >= 3, 60_000);

    server.child.kill('SIGKILL');
    await new Promise<void>((r) => server.child.on('exit', () => r()));
    const killedAt = Date.now();
    await waitFor('every process of the turn gone', async () => pidsWithEnv('CCO_SESSION_ID', created.id).length === 0, 10_000).catch((e: unknown) => {
      const left = pidsWithEnv('CCO_SESSION_ID', created.id);
      for (const pid of left) process.kill(pid, 'SIGKILL'); // leave nothing behind, then fail
      throw new Error(`${(e as Error).message}: ${left.length} processes alive ${Date.now() - killedAt} ms after the server died`, { cause: e });
    });
  } finally {
    await cleanup();
  }
});
