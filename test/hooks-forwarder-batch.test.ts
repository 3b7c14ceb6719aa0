/** cco-hook.sh sending what it has queued in batches (POST /api/hooks/batch), and falling back to one event per request. */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, afterEach, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { forwarderShell, PACKAGED_SCRIPT } from '../src/hooks/installer.ts';
import { queued, startHookServer, waitFor, workerPid, type HookServer } from './helpers/hook-server.ts';

const exec = promisify(execFile);
let srv: HookServer;
let tmp: string;
before(async () => {
  srv = await startHookServer();
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cco-fwd-batch-'));
});
afterEach(() => {
  srv.respond = undefined;
});
after(async () => {
  await srv.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

const tool = (sessionId: string, i: number) => ({
  session_id: sessionId, cwd: '/srv/work/proj', hook_event_name: 'PostToolUse', tool_name: 'Bash',
  tool_input: { command: `echo ${i}` }, tool_response: { stdout: String(i), stderr: '' }, tool_use_id: `toolu_${sessionId.slice(0, 8)}_${i}`, duration_ms: 3,
});

/**
 * Puts events in the spool exactly as hook mode leaves them (<ns>-<pid>-<random>-<Event>.json, then the
 * .ok marker), without starting a worker, so that a flush finds a queue of many events.
 */
function enqueue(spool: string, events: Array<[string, unknown]>): string[] {
  const q = path.join(spool, 'queue');
  fs.mkdirSync(q, { recursive: true });
  const base = BigInt(Date.now()) * 1_000_000n;
  return events.map(([event, payload], i) => {
    const id = `${base + BigInt(i) * 1000n}-${process.pid}-${randomUUID().slice(-12)}-${event}`;
    fs.writeFileSync(path.join(q, `${id}.json`), typeof payload === 'string' ? payload : JSON.stringify(payload));
    fs.writeFileSync(path.join(q, `${id}.ok`), '');
    return id;
  });
}

async function flush(spool: string, url = srv.url): Promise<number> {
  return exec(forwarderShell(), [PACKAGED_SCRIPT, '--url', url, '--spool', spool, '--flush'], { env: { PATH: process.env.PATH, HOME: tmp } }).then(
    () => 0,
    (e: { code: number }) => e.code,
  );
}

async function toolIdsOf(claudeSessionId: string): Promise<string[]> {
  const rows = await srv.db.database.db
    .selectFrom('command_logs')
    .innerJoin('sessions', 'sessions.id', 'command_logs.session_id')
    .select(['command_logs.tool_use_id'])
    .where('sessions.claude_session_id', '=', claudeSessionId)
    .orderBy('command_logs.id')
    .execute();
  return rows.map((r) => r.tool_use_id as string);
}

async function eventsOf(claudeSessionId: string): Promise<string[]> {
  const rows = await srv.db.database.db
    .selectFrom('session_events')
    .innerJoin('sessions', 'sessions.id', 'session_events.session_id')
    .select(['session_events.event'])
    .where('sessions.claude_session_id', '=', claudeSessionId)
    .orderBy('session_events.id')
    .execute();
  return rows.map((r) => r.event);
}

function deadLetters(spool: string) {
  const dir = path.join(spool, 'dead');
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir).filter((f) => f.endsWith('.json')).sort().map((f) => {
    const id = f.slice(0, -'.json'.length);
    return { id, reason: fs.readFileSync(path.join(dir, `${id}.reason`), 'utf8'), payload: fs.readFileSync(path.join(dir, f), 'utf8') };
  });
}

const newSpool = () => fs.mkdtempSync(path.join(tmp, 'spool with space-'));

describe('cco-hook.sh batches', () => {
  test('a queue of many events goes in a few batch requests, oldest first; everything arrives in order, once', async () => {
    const spool = newSpool();
    const sid = randomUUID();
    const events: Array<[string, unknown]> = [['SessionStart', { session_id: sid, cwd: '/p', source: 'startup' }], ['UserPromptSubmit', { session_id: sid, prompt: 'go' }]];
    for (let i = 0; i < 230; i++) {
      events.push(['PostToolUse', tool(sid, i)]);
      if (i % 50 === 49) events.push(['Notification', { session_id: sid, message: `n${i}` }]);
    }
    events.push(['Stop', { session_id: sid, last_assistant_message: 'done' }], ['SessionEnd', { session_id: sid, reason: 'other' }]);
    enqueue(spool, events);
    const from = srv.requests.length;
    assert.equal(await flush(spool), 0);
    const sent = srv.requests.slice(from);
    assert.deepEqual(sent, ['/api/hooks/batch', '/api/hooks/batch', '/api/hooks/batch'], `${events.length} events in batches of at most 100`);
    assert.equal(queued(spool).length, 0);
    assert.deepEqual(await toolIdsOf(sid), Array.from({ length: 230 }, (_, i) => `toolu_${sid.slice(0, 8)}_${i}`));
    assert.deepEqual(await eventsOf(sid), ['SessionStart', 'UserPromptSubmit', 'Notification', 'Notification', 'Notification', 'Notification', 'Stop', 'SessionEnd']);
    assert.deepEqual(deadLetters(spool), []);
    assert.equal(fs.readFileSync(path.join(spool, 'batch', 'body'), 'utf8'), '', 'no copy of the payloads is left behind');
  });

  test('an event the server refuses inside a batch is dead-lettered with its reason; the others are delivered by the same request', async () => {
    const spool = newSpool();
    const sid = randomUUID();
    const ids = enqueue(spool, [
      ['PostToolUse', tool(sid, 0)],
      ['Stop', { session_id: sid, last_assistant_message: 42 }],
      ['PostToolUse', tool(sid, 1)],
      ['Bogus', { session_id: sid }],
      ['PostToolUse', tool(sid, 2)],
    ]);
    const from = srv.requests.length;
    assert.equal(await flush(spool), 0);
    assert.deepEqual(srv.requests.slice(from), ['/api/hooks/batch']);
    assert.deepEqual(await toolIdsOf(sid), [0, 1, 2].map((i) => `toolu_${sid.slice(0, 8)}_${i}`));
    const dead = deadLetters(spool);
    assert.deepEqual(dead.map((d) => d.id), [ids[1], ids[3]]);
    assert.match(dead[0]!.reason, /^refused in a batch: invalid_request, 1 try\n.*last_assistant_message/);
    assert.match(dead[1]!.reason, /^refused in a batch: unknown_event, 1 try\n.*Bogus/);
    assert.equal(dead[0]!.payload, JSON.stringify({ session_id: sid, last_assistant_message: 42 }), 'the payload is kept as it was');
    assert.match(fs.readFileSync(path.join(spool, 'deliver.log'), 'utf8'), /dead-lettered .*-Stop: refused in a batch/);
  });

  test('an event too big for a batch (over 1 MB) goes alone; the events after it go in a batch again', async () => {
    const spool = newSpool();
    const sid = randomUUID();
    const big = { ...tool(sid, 0), tool_response: { stdout: 'x'.repeat(1_100_000), stderr: '' } };
    enqueue(spool, [['PostToolUse', big], ...Array.from({ length: 5 }, (_, i): [string, unknown] => ['PostToolUse', tool(sid, i + 1)])]);
    const from = srv.requests.length;
    assert.equal(await flush(spool), 0);
    assert.deepEqual(srv.requests.slice(from), ['/api/hooks/PostToolUse', '/api/hooks/batch']);
    assert.deepEqual(await toolIdsOf(sid), Array.from({ length: 6 }, (_, i) => `toolu_${sid.slice(0, 8)}_${i}`));
  });

  test('an empty payload (a hook given no stdin) is dead-lettered alone; batches go on around it', async () => {
    const spool = newSpool();
    const sid = randomUUID();
    const ids = enqueue(spool, [
      ['PostToolUse', tool(sid, 0)], ['PostToolUse', tool(sid, 1)], ['Stop', ''], ['PostToolUse', tool(sid, 2)], ['PostToolUse', tool(sid, 3)],
    ]);
    const from = srv.requests.length;
    assert.equal(await flush(spool), 0);
    assert.deepEqual(srv.requests.slice(from), ['/api/hooks/batch', '/api/hooks/Stop', '/api/hooks/batch']);
    assert.deepEqual(await toolIdsOf(sid), [0, 1, 2, 3].map((i) => `toolu_${sid.slice(0, 8)}_${i}`));
    assert.deepEqual(deadLetters(spool).map((d) => d.id), [ids[2]]);
  });

  test('a server that cannot be reached at all holds nothing back: no later event is tried past the first, so none overtakes it when the server returns', async () => {
    const spool = newSpool();
    const sid = randomUUID();
    enqueue(spool, Array.from({ length: 3 }, (_, i): [string, unknown] => ['PostToolUse', tool(sid, i)]));
    // A port nobody listens on: every connection is refused, nothing reaches a server.
    const probe = net.createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', () => r()));
    const deadUrl = `http://127.0.0.1:${(probe.address() as net.AddressInfo).port}`;
    await new Promise((r) => probe.close(r));
    // Each flush is one delivery pass; past MAX_TRIES (3) a failing event would be held and the next tried.
    for (let pass = 0; pass < 5; pass++) assert.equal(await flush(spool, deadUrl), 3);
    // A failed flush leaves the queue to a background worker (retrying the same dead URL): stop it.
    const worker = workerPid(spool);
    if (worker) process.kill(worker, 'SIGTERM');
    await waitFor(() => workerPid(spool) === undefined, 10_000, 'the worker to stop');
    const q = path.join(spool, 'queue');
    const tries = fs.readdirSync(q).filter((f) => f.endsWith('.tries')).sort();
    assert.equal(tries.length, 1, `only the oldest was tried: ${tries.join(', ')}`);
    const [n, what] = fs.readFileSync(path.join(q, tries[0]!), 'utf8').split(/ (.*)/s);
    assert.ok(Number(n) >= 5, `tried ${n} times`);
    assert.match(what!, /^no answer \(curl exit 7\)/);
    assert.equal(await flush(spool), 0);
    assert.deepEqual(await toolIdsOf(sid), [0, 1, 2].map((i) => `toolu_${sid.slice(0, 8)}_${i}`));
  });

  for (const old of [
    { name: '404', status: 404, body: { error: { code: 'not_found', message: 'Route POST:/api/hooks/batch not found' } } },
    // What the server before the batch route answers: "batch" taken for an event name, the body for its payload.
    { name: '400 (the server before the batch route)', status: 400, body: { error: { code: 'invalid_request', message: 'body/session_id: Invalid input: expected string, received undefined' } } },
  ]) {
    test(`a server without the batch route (${old.name}) still gets every event, one per request, in order`, async () => {
      const spool = newSpool();
      const sid = randomUUID();
      enqueue(spool, Array.from({ length: 5 }, (_, i): [string, unknown] => ['PostToolUse', tool(sid, i)]));
      srv.respond = (url) => (url === '/api/hooks/batch' ? { status: old.status, body: old.body } : undefined);
      const from = srv.requests.length;
      assert.equal(await flush(spool), 0);
      assert.deepEqual(srv.requests.slice(from), ['/api/hooks/batch', ...Array.from({ length: 5 }, () => '/api/hooks/PostToolUse')], 'asked once, then one event per request');
      assert.deepEqual(await toolIdsOf(sid), Array.from({ length: 5 }, (_, i) => `toolu_${sid.slice(0, 8)}_${i}`));
      assert.match(fs.readFileSync(path.join(spool, 'deliver.log'), 'utf8'), /has no batch route/);
    });
  }

  test('a batch request failing as a whole (500) falls back to one event per request for that pass; nothing is lost', async () => {
    const spool = newSpool();
    const sid = randomUUID();
    enqueue(spool, Array.from({ length: 4 }, (_, i): [string, unknown] => ['PostToolUse', tool(sid, i)]));
    srv.respond = (url) => (url === '/api/hooks/batch' ? { status: 500, body: { error: { code: 'internal', message: 'boom' } } } : undefined);
    const from = srv.requests.length;
    assert.equal(await flush(spool), 0);
    assert.deepEqual(srv.requests.slice(from), ['/api/hooks/batch', ...Array.from({ length: 4 }, () => '/api/hooks/PostToolUse')]);
    assert.deepEqual(await toolIdsOf(sid), Array.from({ length: 4 }, (_, i) => `toolu_${sid.slice(0, 8)}_${i}`));
    assert.deepEqual(deadLetters(spool), []);
  });
});
