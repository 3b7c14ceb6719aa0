/** The cco-hook.sh forwarder against a real listening server: spool, order, outage, rejects, managed runs, secrets, flush. */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { drainSpool, queued, runHook, startHookServer, waitFor, workerPid, type HookServer } from './helpers/hook-server.ts';

const exec = promisify(execFile);
let srv: HookServer;
let tmp: string;
before(async () => {
  srv = await startHookServer();
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cco-forwarder-'));
});
after(async () => {
  await srv.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

const newSpool = () => fs.mkdtempSync(path.join(tmp, 'spool-'));
const tool = (sessionId: string, i: number) => ({
  session_id: sessionId, cwd: '/srv/work/proj', hook_event_name: 'PostToolUse', tool_name: 'Bash',
  tool_input: { command: `echo ${i}` }, tool_response: { stdout: String(i), stderr: '' }, tool_use_id: `toolu_${sessionId.slice(0, 8)}_${i}`, duration_ms: 3,
});

async function logsOf(claudeSessionId: string) {
  return srv.db.database.db
    .selectFrom('command_logs')
    .innerJoin('sessions', 'sessions.id', 'command_logs.session_id')
    .select(['command_logs.tool_use_id', 'command_logs.id'])
    .where('sessions.claude_session_id', '=', claudeSessionId)
    .orderBy('command_logs.id')
    .execute();
}

describe('cco-hook.sh', () => {
  test('spools, delivers in order, prints nothing, exits 0 (under bash and under the POSIX sh)', async () => {
    const spool = newSpool();
    const sid = randomUUID();
    for (let i = 0; i < 6; i++) {
      // bash stamps with EPOCHREALTIME, dash with date(1): one clock, so mixed calls keep their order.
      const r = await runHook({ url: srv.url, spool, event: 'PostToolUse', payload: tool(sid, i), shell: i % 2 ? 'sh' : '/bin/bash' });
      assert.equal(r.code, 0);
      assert.equal(r.stdout, '', 'stdout would be read by Claude Code');
      assert.equal(r.stderr, '');
    }
    await drainSpool(spool);
    const rows = await logsOf(sid);
    assert.deepEqual(rows.map((r) => r.tool_use_id), [0, 1, 2, 3, 4, 5].map((i) => `toolu_${sid.slice(0, 8)}_${i}`));
  });

  test('server down: events wait in the spool, then arrive in order once it is back; none lost, none duplicated', async () => {
    const spool = newSpool();
    const sid = randomUUID();
    await runHook({ url: srv.url, spool, event: 'SessionStart', payload: { session_id: sid, cwd: '/p', hook_event_name: 'SessionStart', source: 'startup' } });
    await drainSpool(spool);
    await srv.stop();
    const secret = `sk-ant-secret-${randomUUID()}`;
    for (let i = 0; i < 6; i++) {
      const r = await runHook({ url: srv.url, spool, event: 'PostToolUse', payload: tool(sid, i), env: { PATH: process.env.PATH, HOME: tmp, ANTHROPIC_API_KEY: secret } });
      assert.equal(r.code, 0);
      assert.ok(r.ms < 2000, `hook returned in ${r.ms} ms while the server is down`);
    }
    await waitFor(() => workerPid(spool) !== undefined, 5000, 'a retrying worker');
    assert.equal(queued(spool).length, 6);
    const spooled = fs.readdirSync(spool, { recursive: true, withFileTypes: true }).filter((d) => d.isFile());
    for (const f of spooled) assert.ok(!fs.readFileSync(path.join(f.parentPath, f.name), 'utf8').includes(secret), `${f.name} holds no secret`);
    assert.equal((await logsOf(sid)).length, 0);

    await srv.start();
    // Nothing else happens: the worker's own retry (backoff at most 4 s) delivers.
    await drainSpool(spool, 10_000);
    const rows = await logsOf(sid);
    assert.deepEqual(rows.map((r) => r.tool_use_id), [0, 1, 2, 3, 4, 5].map((i) => `toolu_${sid.slice(0, 8)}_${i}`));
  });

  test('the next hook call wakes a waiting worker at once', async () => {
    const spool = newSpool();
    const sid = randomUUID();
    await srv.stop();
    await runHook({ url: srv.url, spool, event: 'PostToolUse', payload: tool(sid, 0) });
    await waitFor(() => workerPid(spool) !== undefined, 5000, 'a retrying worker');
    await new Promise((r) => setTimeout(r, 2500)); // let the backoff grow past 1 s
    await srv.start();
    const t0 = Date.now();
    await runHook({ url: srv.url, spool, event: 'PostToolUse', payload: tool(sid, 1) });
    await waitFor(async () => (await logsOf(sid)).length === 2, 5000, 'both rows');
    assert.ok(Date.now() - t0 < 1000, `delivered ${Date.now() - t0} ms after the waking call`);
    await drainSpool(spool);
  });

  test('a lock left by a dead worker whose pid now belongs to another process: that process is not signalled', async () => {
    const spool = newSpool();
    const sid = randomUUID();
    const other = spawn('sleep', ['30'], { stdio: 'ignore' });
    try {
      const boot = fs.existsSync('/proc/sys/kernel/random/boot_id') ? fs.readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim() : '';
      fs.mkdirSync(path.join(spool, 'lock'), { recursive: true });
      fs.writeFileSync(path.join(spool, 'lock', 'pid'), `${other.pid} ${boot}\n`);
      await runHook({ url: srv.url, spool, event: 'PostToolUse', payload: tool(sid, 0) });
      await drainSpool(spool);
      assert.equal((await logsOf(sid)).length, 1, 'a new worker delivered');
      assert.equal(other.exitCode, null);
      assert.equal(other.signalCode, null, 'the unrelated process got no signal');
    } finally {
      other.kill('SIGKILL');
    }
  });

  test('an event the server rejects is moved aside and does not block the rest', async () => {
    const spool = newSpool();
    const sid = randomUUID();
    await runHook({ url: srv.url, spool, event: 'Stop', payload: '{"not":"a hook event"' });
    await runHook({ url: srv.url, spool, event: 'PostToolUse', payload: tool(sid, 0) });
    await drainSpool(spool);
    assert.equal((await logsOf(sid)).length, 1);
    assert.equal(fs.readdirSync(path.join(spool, 'rejected')).length, 1);
    assert.match(fs.readFileSync(path.join(spool, 'deliver.log'), 'utf8'), /rejected .*Stop\.json http 400/);
  });

  test('CCO_MANAGED_RUN=1 (a run the orchestrator started) is dropped: nothing spooled or sent', async () => {
    const spool = newSpool();
    const before = srv.requests.length;
    const r = await runHook({ url: srv.url, spool, event: 'PostToolUse', payload: tool(randomUUID(), 0), env: { PATH: process.env.PATH, CCO_MANAGED_RUN: '1', CCO_SESSION_ID: randomUUID() } });
    assert.equal(r.code, 0);
    assert.deepEqual(queued(spool), []);
    await new Promise((res) => setTimeout(res, 200));
    assert.equal(srv.requests.length, before);
  });

  test('an unusable spool still exits 0 and tries one direct delivery', async () => {
    const blocker = path.join(tmp, 'a-file');
    fs.writeFileSync(blocker, 'x');
    const sid = randomUUID();
    const r = await runHook({ url: srv.url, spool: path.join(blocker, 'spool'), event: 'PostToolUse', payload: tool(sid, 0) });
    assert.equal(r.code, 0);
    assert.equal((await logsOf(sid)).length, 1);
  });

  test('cco hooks flush delivers what is queued and reports what is left', async () => {
    const spool = newSpool();
    const sid = randomUUID();
    await srv.stop();
    for (let i = 0; i < 3; i++) await runHook({ url: srv.url, spool, event: 'PostToolUse', payload: tool(sid, i) });
    const worker = workerPid(spool);
    if (worker) process.kill(worker, 'SIGTERM'); // leave the job to flush
    await waitFor(() => workerPid(spool) === undefined, 5000, 'the worker to stop');
    // Run in a project whose hooks were installed with this URL and spool: flush needs no flags.
    const env = { PATH: process.env.PATH, HOME: tmp, LOG_LEVEL: 'silent', CCO_HOME: tmp, CLAUDE_CONFIG_DIR: path.join(tmp, 'no-user-config') };
    const proj = fs.mkdtempSync(path.join(tmp, 'proj-'));
    await exec(process.execPath, [path.resolve('bin/cco.mjs'), 'hooks', 'install', '--project', proj, '--url', srv.url, '--spool', spool], { env });
    const cli = [path.resolve('bin/cco.mjs'), 'hooks', 'flush'];
    const down = await exec(process.execPath, cli, { env, cwd: proj }).then(() => 0, (e: { code: number; stdout: string }) => e);
    assert.notEqual(down, 0, 'exit status 1 while events are left');
    assert.match((down as { stdout: string }).stdout, /0 delivered .*3 queued/);
    // A failed flush hands the queue to a background worker; stop it so the next flush does the work.
    await waitFor(() => workerPid(spool) !== undefined, 5000, 'the worker a failed flush starts');
    process.kill(workerPid(spool)!, 'SIGTERM');
    await waitFor(() => workerPid(spool) === undefined, 5000, 'the worker to stop');
    assert.equal(queued(spool).length, 3);
    await srv.start();
    const up = await exec(process.execPath, cli, { env, cwd: proj });
    assert.match(up.stdout, /3 delivered .*0 queued/);
    assert.equal((await logsOf(sid)).length, 3);
    await drainSpool(spool);
  });
});
