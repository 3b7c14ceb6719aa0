/** The cco-hook.sh forwarder against a real listening server: spool, order, outage, dead letters, event ids, locks, managed runs, secrets, flush. */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { PACKAGED_SCRIPT } from '../src/hooks/installer.ts';
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

async function messagesOf(claudeSessionId: string) {
  return srv.db.database.db
    .selectFrom('session_messages')
    .innerJoin('sessions', 'sessions.id', 'session_messages.session_id')
    .select(['session_messages.content'])
    .where('sessions.claude_session_id', '=', claudeSessionId)
    .orderBy('session_messages.id')
    .execute();
}

async function eventsOf(claudeSessionId: string, event: string) {
  return srv.db.database.db
    .selectFrom('session_events')
    .innerJoin('sessions', 'sessions.id', 'session_events.session_id')
    .select(['session_events.id'])
    .where('sessions.claude_session_id', '=', claudeSessionId)
    .where('session_events.event', '=', event)
    .execute();
}

/** dead/<id>.json with the reason beside it in dead/<id>.reason. */
function deadLetters(spool: string) {
  const dir = path.join(spool, 'dead');
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir).filter((f) => f.endsWith('.json')).sort().map((f) => {
    const id = f.slice(0, -'.json'.length);
    return { id, reason: fs.readFileSync(path.join(dir, `${id}.reason`), 'utf8') };
  });
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

  test('an event refused for good (400) is dead-lettered at once with its reason; the rest is delivered', async () => {
    const spool = newSpool();
    const sid = randomUUID();
    await runHook({ url: srv.url, spool, event: 'Stop', payload: '{"not":"a hook event"' });
    await runHook({ url: srv.url, spool, event: 'PostToolUse', payload: tool(sid, 0) });
    await drainSpool(spool);
    assert.equal((await logsOf(sid)).length, 1);
    const dead = deadLetters(spool);
    assert.equal(dead.length, 1);
    assert.match(dead[0]!.id, /-Stop$/);
    assert.match(dead[0]!.reason, /^http 400, 1 try\n.*invalid_json/);
    assert.equal(fs.readFileSync(path.join(spool, 'dead', `${dead[0]!.id}.json`), 'utf8'), '{"not":"a hook event"', 'the payload is kept as it was');
    assert.match(fs.readFileSync(path.join(spool, 'deliver.log'), 'utf8'), /dead-lettered .*Stop: http 400/);
  });

  test('an event refused with another 4xx (403) is retried, then dead-lettered once a later event is accepted; cco hooks status shows it', async () => {
    const spool = newSpool();
    const sid = randomUUID();
    srv.respond = (_url, body) => (JSON.stringify(body).includes('POISON-403') ? { status: 403, body: { error: { code: 'forbidden', message: 'not this one' } } } : undefined);
    try {
      await runHook({ url: srv.url, spool, event: 'PostToolUse', payload: { ...tool(sid, 0), tool_input: { command: 'POISON-403' } } });
      for (let i = 1; i < 4; i++) await runHook({ url: srv.url, spool, event: 'PostToolUse', payload: tool(sid, i) });
      await waitFor(async () => (await logsOf(sid)).length === 3, 30_000, 'the events behind the refused one');
      await drainSpool(spool);
    } finally {
      srv.respond = undefined;
    }
    assert.deepEqual((await logsOf(sid)).map((r) => r.tool_use_id), [1, 2, 3].map((i) => `toolu_${sid.slice(0, 8)}_${i}`));
    const dead = deadLetters(spool);
    assert.equal(dead.length, 1);
    assert.match(dead[0]!.reason, /^http 403, \d+ tries\n.*not this one/);
    assert.ok(Number(/, (\d+) tries/.exec(dead[0]!.reason)![1]) >= 3, 'retried before being set aside');
    const env = { PATH: process.env.PATH, HOME: tmp, LOG_LEVEL: 'silent', CCO_HOME: tmp, CCO_SPOOL_DIR: spool, CCO_HOOK_URL: srv.url, CLAUDE_CONFIG_DIR: path.join(tmp, 'no-user-config') };
    const status = await exec(process.execPath, [path.resolve('bin/cco.mjs'), 'hooks', 'status'], { env, cwd: tmp });
    assert.match(status.stdout, new RegExp(`spool: .*0 queued, 1 dead-lettered \\(newest ${dead[0]!.id}, .*http 403, \\d+ tries: .*not this one`));

    // Once the cause is fixed (the server takes it now), the dead letter can be sent again.
    const retried = await exec(process.execPath, [path.resolve('bin/cco.mjs'), 'hooks', 'flush', '--retry-dead'], { env, cwd: tmp });
    assert.match(retried.stdout, /1 dead-lettered event\(s\) put back in the queue/);
    assert.match(retried.stdout, /1 delivered .*0 queued, 0 dead-lettered/);
    assert.equal((await logsOf(sid)).length, 4);
    assert.deepEqual(deadLetters(spool), []);
  });

  test('an event the server fails on (500) every time is dead-lettered once later events are accepted; the rest keep their order', async () => {
    const spool = newSpool();
    const sid = randomUUID();
    srv.respond = (_url, body) => (JSON.stringify(body).includes('POISON-500') ? { status: 500, body: { error: { code: 'internal', message: 'boom' } } } : undefined);
    try {
      await runHook({ url: srv.url, spool, event: 'PostToolUse', payload: tool(sid, 0) });
      await runHook({ url: srv.url, spool, event: 'PostToolUse', payload: { ...tool(sid, 1), tool_input: { command: 'POISON-500' } } });
      for (let i = 2; i < 5; i++) await runHook({ url: srv.url, spool, event: 'PostToolUse', payload: tool(sid, i) });
      await waitFor(async () => (await logsOf(sid)).length === 4, 30_000, 'the events behind the failing one');
      await drainSpool(spool);
    } finally {
      srv.respond = undefined;
    }
    assert.deepEqual((await logsOf(sid)).map((r) => r.tool_use_id), [0, 2, 3, 4].map((i) => `toolu_${sid.slice(0, 8)}_${i}`));
    const dead = deadLetters(spool);
    assert.equal(dead.length, 1);
    assert.match(dead[0]!.reason, /^http 500, \d+ tries\n.*boom/);
  });

  test('while the server fails every event (500), none is dead-lettered; all arrive in order once it recovers', async () => {
    const spool = newSpool();
    const sid = randomUUID();
    const from = srv.requests.length;
    srv.respond = () => ({ status: 500, body: { error: { code: 'internal', message: 'database down' } } });
    try {
      for (let i = 0; i < 3; i++) await runHook({ url: srv.url, spool, event: 'PostToolUse', payload: tool(sid, i) });
      // Past the point where a single failing event would be set aside (3 tries), with every event tried.
      await waitFor(() => srv.requests.length - from >= 8, 30_000, 'several rounds of retries');
      // Stop the worker before the server recovers, so the recovery does not fall between two of its requests.
      const worker = workerPid(spool);
      if (worker) process.kill(worker, 'SIGTERM');
      await waitFor(() => workerPid(spool) === undefined, 5000, 'the worker to stop');
    } finally {
      srv.respond = undefined;
    }
    assert.deepEqual(deadLetters(spool), [], 'nothing set aside while every event failed');
    assert.equal(queued(spool).length, 3);
    await runHook({ url: srv.url, spool, event: 'PostToolUse', payload: tool(sid, 3) });
    await drainSpool(spool, 20_000);
    assert.deepEqual((await logsOf(sid)).map((r) => r.tool_use_id), [0, 1, 2, 3].map((i) => `toolu_${sid.slice(0, 8)}_${i}`));
    assert.deepEqual(deadLetters(spool), []);
  });

  test('identical events are each stored; a redelivered spool file is stored once', async () => {
    const spool = newSpool();
    const sid = randomUUID();
    const stop = { session_id: sid, cwd: '/p', hook_event_name: 'Stop', stop_hook_active: false, last_assistant_message: 'Done.' };
    await runHook({ url: srv.url, spool, event: 'Stop', payload: stop });
    await runHook({ url: srv.url, spool, event: 'Stop', payload: stop });
    await drainSpool(spool);
    assert.deepEqual((await messagesOf(sid)).map((m) => m.content), ['Done.', 'Done.'], 'the same answer twice is two messages');

    // A redelivery: the same spooled file (same name, so the same event id) sent again.
    await srv.stop();
    const note = { session_id: sid, cwd: '/p', hook_event_name: 'Notification', message: 'Claude is waiting', notification_type: 'idle_prompt' };
    await runHook({ url: srv.url, spool, event: 'Notification', payload: note });
    const copy = fs.mkdtempSync(path.join(tmp, 'copy-'));
    const [marker] = queued(spool);
    assert.ok(marker);
    const name = marker.slice(0, -'.ok'.length);
    fs.copyFileSync(path.join(spool, 'queue', `${name}.json`), path.join(copy, `${name}.json`));
    await srv.start();
    await drainSpool(spool);
    fs.copyFileSync(path.join(copy, `${name}.json`), path.join(spool, 'queue', `${name}.json`));
    fs.writeFileSync(path.join(spool, 'queue', `${name}.ok`), '');
    const before = srv.requests.length;
    await exec('sh', [PACKAGED_SCRIPT, '--url', srv.url, '--spool', spool, '--flush']);
    assert.equal(srv.requests.length, before + 1, 'sent again');
    assert.deepEqual(queued(spool), []);
    assert.equal((await eventsOf(sid, 'Notification')).length, 1, 'stored once');
  });

  describe('a lock left at any crash point does not stop delivery', () => {
    const boot = fs.existsSync('/proc/sys/kernel/random/boot_id') ? fs.readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim() : '';
    const startTime = (pid: number) => fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')[19];
    const deadPid = async () => {
      const p = spawn('true', { stdio: 'ignore' });
      await new Promise((r) => p.on('close', r));
      return p.pid!;
    };
    const cases: Array<[string, (spool: string, live: number) => Promise<void> | void]> = [
      ['a lock folder without a pid file (the earlier layout, killed between mkdir and writing its pid)', (spool) => {
        fs.mkdirSync(path.join(spool, 'lock'), { recursive: true });
      }],
      ['an empty lock file', (spool) => fs.writeFileSync(path.join(spool, 'worker.lock'), '')],
      ['a temporary lock file never linked (killed before taking the lock)', (spool) => fs.writeFileSync(path.join(spool, 'worker.lock.999999'), `999999 ${boot} 1\n`)],
      ['a lock whose pid is dead', async (spool) => fs.writeFileSync(path.join(spool, 'worker.lock'), `${await deadPid()} ${boot} 1\n`)],
      ['a lock of another boot whose pid is a live shell', (spool, live) => fs.writeFileSync(path.join(spool, 'worker.lock'), `${live} not-this-boot ${startTime(live)}\n`)],
      ['a lock whose pid is now another live shell (other start time)', (spool, live) => fs.writeFileSync(path.join(spool, 'worker.lock'), `${live} ${boot} 1\n`)],
      ['a lock of the earlier layout whose pid is now another live shell', (spool, live) => {
        fs.mkdirSync(path.join(spool, 'lock'), { recursive: true });
        fs.writeFileSync(path.join(spool, 'lock', 'pid'), `${live} ${boot}\n`);
      }],
    ];
    for (const [name, setUp] of cases) {
      test(name, async () => {
        const spool = newSpool();
        const sid = randomUUID();
        // A shell that merely happens to have the pid: it must never be signalled.
        const other = spawn('sh', ['-c', 'sleep 60; :'], { stdio: 'ignore' });
        try {
          await setUp(spool, other.pid!);
          await runHook({ url: srv.url, spool, event: 'PostToolUse', payload: tool(sid, 0) });
          await waitFor(async () => (await logsOf(sid)).length === 1, 15_000, 'delivery by a new worker');
          await drainSpool(spool);
          assert.equal(other.exitCode, null);
          assert.equal(other.signalCode, null, 'the unrelated process got no signal');
        } finally {
          other.kill('SIGKILL');
        }
      });
    }
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
    await exec(process.execPath, [path.resolve('bin/cco.mjs'), 'hooks', 'install', '--no-token', '--project', proj, '--url', srv.url, '--spool', spool], { env });
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
