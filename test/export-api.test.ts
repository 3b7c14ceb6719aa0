/** GET /api/export (issue 16) through HTTP: formats parse back, filters and owners apply, memory stays flat. */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import v8 from 'node:v8';
import vm from 'node:vm';
import { sql } from 'kysely';
import { runningExports } from '../src/export/in-worker.ts';
import { call, createTestApp, roleKeys, type TestApp } from './helpers/app.ts';

let t: TestApp;
let keys: Awaited<ReturnType<typeof roleKeys>>;
const ids: Record<string, string> = {};
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cco-export-'));

before(async () => {
  t = await createTestApp({ auth: 'keys' });
  keys = await roleKeys(t.auth);
  const make = async (name: string, key: string, body: Record<string, unknown> = {}) => {
    const r = await call(t.app, 'POST', '/api/sessions', { project_path: `/srv/${name}`, claude_session_id: `claude-${name}`, ...body }, key);
    assert.equal(r.status, 201, JSON.stringify(r.body));
    ids[name] = r.body.id;
  };
  const say = async (name: string, key: string, content: string) => {
    assert.equal((await call(t.app, 'POST', `/api/sessions/${ids[name]}/messages`, { direction: 'user', content, run: false }, key)).status, 201);
  };
  await make('a1', keys.alice, { metadata: { note: 'has "quotes", commas\nand lines' } });
  await say('a1', keys.alice, 'first, with "quotes"\r\nand a CRLF');
  await say('a1', keys.alice, 'second: ünïcödé ✓ and the word walrus');
  const r = await call(t.app, 'POST', '/api/hooks/tool-complete', {
    session_id: 'claude-a1', hook_event_name: 'PostToolUse', tool_name: 'Bash', tool_use_id: 'toolu_x1',
    tool_input: { command: 'echo "a,b"' }, tool_response: { stdout: 'a,b\n', stderr: '' }, duration_ms: 3,
  }, keys.alice);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  await make('a2', keys.alice, { source: 'cli' });
  await say('a2', keys.alice, 'nothing special');
  await make('b1', keys.bob);
  await say('b1', keys.bob, "bob's walrus");
});
after(async () => {
  await t.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

async function get(qs: string, key = keys.admin) {
  const res = await t.app.inject({ method: 'GET', url: `/api/export?${qs}`, headers: { authorization: `Bearer ${key}` } });
  return res;
}

/** RFC 4180 parser, written apart from the server's writer. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let f = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        f += '"';
        i++;
      } else if (c === '"') quoted = false;
      else f += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(f);
      f = '';
    } else if (c === '\r' && text[i + 1] === '\n') {
      row.push(f);
      rows.push(row);
      row = [];
      f = '';
      i++;
    } else f += c;
  }
  assert.equal(f, '', 'the file ends with a line end');
  return rows;
}
const records = (text: string) => {
  const [head, ...rest] = parseCsv(text);
  return rest.map((r) => Object.fromEntries(head!.map((h, i) => [h, r[i]])));
};

describe('GET /api/export', () => {
  test('json: one document, sessions with their messages and logs', async () => {
    const res = await get('format=json');
    assert.equal(res.statusCode, 200);
    assert.match(String(res.headers['content-type']), /^application\/json/);
    assert.match(String(res.headers['content-disposition']), /^attachment; filename="cco-export-\d{8}T\d{6}Z\.json"$/);
    const doc = res.json();
    assert.ok(Date.parse(doc.exported_at));
    assert.deepEqual(doc.sessions.map((s: { id: string }) => s.id).sort(), Object.values(ids).sort());
    const a1 = doc.sessions.find((s: { id: string }) => s.id === ids.a1);
    assert.equal(a1.metadata.note, 'has "quotes", commas\nand lines');
    assert.deepEqual(a1.messages.map((m: { content: string }) => m.content), ['first, with "quotes"\r\nand a CRLF', 'second: ünïcödé ✓ and the word walrus']);
    assert.equal(a1.logs.length, 1);
    assert.deepEqual(a1.logs[0].input, { command: 'echo "a,b"' });
    const api = await call(t.app, 'GET', `/api/sessions/${ids.a1}/messages`, undefined, keys.admin);
    assert.deepEqual(a1.messages, api.body.data, 'the same objects as the API');
    assert.deepEqual(doc.sessions.find((s: { id: string }) => s.id === ids.a2).logs, []);
  });

  test('one session; filters; q selects sessions with a match', async () => {
    const one = await get(`session_id=${ids.a1}`);
    assert.match(String(one.headers['content-disposition']), new RegExp(`filename="cco-session-${ids.a1!.slice(0, 8)}-`));
    assert.deepEqual(one.json().sessions.map((s: { id: string }) => s.id), [ids.a1]);
    assert.deepEqual(((await get('source=cli')).json().sessions as { id: string }[]).map((s) => s.id), [ids.a2]);
    assert.deepEqual(((await get('owner=bob')).json().sessions as { id: string }[]).map((s) => s.id), [ids.b1]);
    assert.deepEqual(((await get('tool=Bash')).json().sessions as { id: string }[]).map((s) => s.id), [ids.a1]);
    assert.deepEqual(((await get('q=walrus')).json().sessions as { id: string }[]).map((s) => s.id).sort(), [ids.a1, ids.b1].sort());
    assert.deepEqual((await get('q=zzzz')).json().sessions, []);
  });

  test('csv: each table parses back, quoting intact', async () => {
    const s = await get('format=csv');
    assert.match(String(s.headers['content-type']), /^text\/csv/);
    assert.match(String(s.headers['content-disposition']), /-sessions\.csv"$/);
    const sessions = records(s.body);
    assert.equal(sessions.length, 3);
    assert.deepEqual(JSON.parse(sessions.find((r) => r.id === ids.a1)!.metadata!), { note: 'has "quotes", commas\nand lines' });
    const m = records((await get('format=csv&table=messages')).body);
    assert.equal(m.length, 4);
    assert.ok(m.some((r) => r.content === 'first, with "quotes"\r\nand a CRLF' && r.session_id === ids.a1));
    const l = records((await get('format=csv&table=logs')).body);
    assert.equal(l.length, 1);
    assert.deepEqual(JSON.parse(l[0]!.input!), { command: 'echo "a,b"' });
    const apiLog = (await call(t.app, 'GET', `/api/sessions/${ids.a1}/logs`, undefined, keys.admin)).body.data[0];
    assert.equal(l[0]!.result, apiLog.result);
    assert.equal(l[0]!.tool, 'Bash');
  });

  test('zip: three CSV entries that unzip checks and reads', async () => {
    const res = await get('format=zip');
    assert.equal(res.headers['content-type'], 'application/zip');
    const file = path.join(tmp, 'e.zip');
    fs.writeFileSync(file, res.rawPayload);
    const listing = execFileSync('unzip', ['-Z1', file], { encoding: 'utf8' }).trim().split('\n');
    assert.deepEqual(listing, ['sessions.csv', 'messages.csv', 'logs.csv']);
    execFileSync('unzip', ['-tq', file]); // CRCs and sizes check out (throws otherwise)
    assert.equal(execFileSync('unzip', ['-p', file, 'messages.csv'], { encoding: 'utf8' }), (await get('format=csv&table=messages')).body);
    assert.equal(records(execFileSync('unzip', ['-p', file, 'sessions.csv'], { encoding: 'utf8' })).length, 3);
  });

  test('only what the caller may read', async () => {
    const alice = (await get('format=json', keys.alice)).json();
    assert.deepEqual(alice.sessions.map((s: { id: string }) => s.id).sort(), [ids.a1, ids.a2].sort());
    assert.deepEqual((await get('owner=bob', keys.alice)).json().sessions, []);
    assert.deepEqual(((await get('q=walrus', keys.bob)).json().sessions as { id: string }[]).map((s) => s.id), [ids.b1]);
    const foreign = await get(`session_id=${ids.b1}`, keys.alice);
    assert.equal(foreign.statusCode, 404);
    assert.equal(foreign.json().error.code, 'not_found');
    assert.equal(records((await get('format=csv&table=messages', keys.bob)).body).length, 1);
    assert.equal((await get('format=json', keys.viewer)).json().sessions.length, 3);
    const hook = await get('format=json', keys.hook);
    assert.equal(hook.statusCode, 403);
    const anon = await t.app.inject({ method: 'GET', url: '/api/export' });
    assert.equal(anon.statusCode, 401);
  });

  test('bad input is 400 with a code', async () => {
    for (const [qs, code] of [
      ['format=xml', 'invalid_request'],
      ['format=json&table=logs', 'invalid_request'],
      ['format=csv&table=turns', 'invalid_request'],
      ['session_id=nope', 'invalid_request'],
      ['created_after=2026-02-01&created_before=2026-01-01', 'invalid_time_range'],
      ['limit=5', 'invalid_request'],
    ] as const) {
      const r = await get(qs);
      assert.equal(r.statusCode, 400, qs);
      assert.equal(r.json().error.code, code, qs);
    }
    assert.equal((await get('session_id=00000000-0000-4000-8000-000000000000')).statusCode, 404);
  });

  test('a large export streams with bounded memory (20k messages, ~40 MB)', { timeout: 300_000 }, async () => {
    const big = (await call(t.app, 'POST', '/api/sessions', { project_path: '/srv/big' }, keys.admin)).body.id as string;
    const db = t.db.database.db;
    await sql`insert into session_messages (session_id, direction, content, source)
              select ${big}::uuid, 'assistant', 'row ' || k || ' ' || repeat('lorem ipsum dolor ', 110), 'api'
              from generate_series(1, 20000) k`.execute(db);
    const address = await t.app.listen({ port: 0, host: '127.0.0.1' });
    // Retained memory, not garbage waiting for a collection: collect before each sample.
    v8.setFlagsFromString('--expose-gc');
    const gc = vm.runInNewContext('gc') as () => void;
    const used = () => {
      gc();
      const m = process.memoryUsage();
      return m.heapUsed + m.arrayBuffers;
    };
    const base = used();
    let sampledAt = 0;
    let peak = 0;
    let bytes = 0;
    const res = await fetch(`${address}/api/export?format=csv&table=messages&session_id=${big}`, { headers: { authorization: `Bearer ${keys.admin}` } });
    assert.equal(res.status, 200);
    let lines = 0;
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      bytes += chunk.length;
      for (const b of chunk) if (b === 10) lines++;
      if (bytes - sampledAt > 2e6) {
        sampledAt = bytes;
        peak = Math.max(peak, used() - base);
      }
    }
    assert.equal(lines, 20001);
    assert.ok(bytes > 35e6, `exported ${bytes} bytes`);
    // Server and client share this process: a buffered export would hold the whole ~40 MB (as UTF-16 strings, more).
    assert.ok(peak < 20e6, `heap grew by ${Math.round(peak / 1e6)} MB for ${Math.round(bytes / 1e6)} MB exported`);
    // The worker exits just after its last buffer is written (terminate() is asynchronous).
    const ended = Date.now() + 10_000;
    while (runningExports() > 0 && Date.now() < ended) await new Promise((r) => setTimeout(r, 20));
    assert.equal(runningExports(), 0, 'the export worker has ended');

    // A client that goes away mid-export stops its worker (nothing keeps reading the database).
    const abort = new AbortController();
    const cut = await fetch(`${address}/api/export?format=json&session_id=${big}`, { headers: { authorization: `Bearer ${keys.admin}` }, signal: abort.signal });
    const reader = (cut.body as ReadableStream<Uint8Array>).getReader();
    assert.ok(((await reader.read()).value?.length ?? 0) > 0, 'the export started');
    assert.equal(runningExports(), 1);
    abort.abort();
    const until = Date.now() + 10_000;
    while (runningExports() > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    assert.equal(runningExports(), 0, 'the worker stopped when the client went away');
  });
});
