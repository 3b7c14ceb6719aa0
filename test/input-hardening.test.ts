/**
 * Issue 9, bad input: NUL bytes and lone surrogates (one rule for all text), JSON depth,
 * cursors out of PostgreSQL's range, one error shape for errors made outside the handler,
 * request ids on 5xx, and the Host check against DNS rebinding.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import { call, capturingLogger, createTestApp, type TestApp } from './helpers/app.ts';

const { logger } = capturingLogger('error'); // keeps the expected error lines out of the test output

let t: TestApp;
before(async () => {
  // /bin/false as Claude Code: turns started here fail at once; only what is stored matters.
  t = await createTestApp({ logger, runner: { claudePath: '/bin/false' } });
});
after(async () => {
  await t.close();
});

const FFFD = '\uFFFD';
const raw = (method: string, url: string, payload: string, headers: Record<string, string> = {}) =>
  t.app.inject({ method: method as 'POST', url, payload, headers: { 'content-type': 'application/json', ...headers } });

function assertErrorShape(body: unknown, what: string) {
  const b = body as { error?: { code?: unknown; message?: unknown } };
  assert.equal(typeof b?.error?.code, 'string', `${what}: ${JSON.stringify(body)}`);
  assert.equal(typeof b?.error?.message, 'string', `${what}: ${JSON.stringify(body)}`);
}

async function recordSession() {
  const r = await call(t.app, 'POST', '/api/sessions', { project_path: '/srv/work/proj' });
  assert.equal(r.status, 201);
  return r.body.id as string;
}

describe('NUL bytes and lone surrogates in stored text are replaced, and the row says so', () => {
  test('hook tool_input with a NUL (the verified 500) is stored with U+FFFD and text_replaced', async () => {
    const claude = randomUUID();
    const body = JSON.stringify({ session_id: claude, tool_name: 'Bash', tool_use_id: 'toolu_nul', cwd: '/srv/x\uD800y',
      tool_input: { command: 'echo \u0000' }, tool_response: 'a\u0000b' });
    const r = await raw('POST', '/api/hooks/tool-complete', body);
    assert.equal(r.statusCode, 200, r.body);
    const sessionId = r.json().session_id as string;
    const logs = await call(t.app, 'GET', `/api/sessions/${sessionId}/logs`);
    assert.equal(logs.body.data[0].input.command, `echo ${FFFD}`);
    assert.equal(logs.body.data[0].result, `a${FFFD}b`);
    assert.equal(logs.body.data[0].metadata.text_replaced, true);
    const s = await call(t.app, 'GET', `/api/sessions/${sessionId}`);
    assert.equal(s.body.project_path, `/srv/x${FFFD}y`);
    assert.equal(s.body.metadata.text_replaced, true);
  });

  test('message content and metadata (keys too) keep their text with U+FFFD', async () => {
    const id = await recordSession();
    const r = await raw('POST', `/api/sessions/${id}/messages`, JSON.stringify({ direction: 'assistant', content: 'a\u0000b\uDC00c', metadata: { 'k\u0000': 'v\uD800' } }));
    assert.equal(r.statusCode, 201, r.body);
    const m = r.json();
    assert.equal(m.content, `a${FFFD}b${FFFD}c`);
    assert.deepEqual(m.metadata, { [`k${FFFD}`]: `v${FFFD}`, text_replaced: true });
    const clean = await call(t.app, 'POST', `/api/sessions/${id}/messages`, { direction: 'assistant', content: 'fine \uD83D\uDE00' });
    assert.equal(clean.body.content, 'fine \uD83D\uDE00', 'a surrogate pair is a real character and stays');
    assert.deepEqual(clean.body.metadata, {});
    const escaped = await call(t.app, 'POST', `/api/sessions/${id}/messages`, { direction: 'assistant', content: 'C: "\\u0000"', metadata: { k: '\\ud800' } });
    assert.equal(escaped.body.content, 'C: "\\u0000"', 'a backslash-u written out is plain text');
    assert.deepEqual(escaped.body.metadata, { k: '\\ud800' }, 'and is not flagged');
  });

  test('session metadata on create and patch, and run options (model, append_system_prompt) with a prompt', async () => {
    const created = await raw('POST', '/api/sessions', JSON.stringify({ project_path: '/srv/p', metadata: { note: 'x\uD800y' } }));
    assert.equal(created.statusCode, 201, created.body);
    assert.deepEqual(created.json().metadata, { note: `x${FFFD}y`, text_replaced: true });
    const patched = await raw('PATCH', `/api/sessions/${created.json().id}`, JSON.stringify({ metadata: { other: '\u0000' } }));
    assert.equal(patched.statusCode, 200, patched.body);
    assert.equal(patched.json().metadata.other, FFFD);

    const run = await raw('POST', '/api/sessions', JSON.stringify({ prompt: 'hi\u0000 there\uD800', model: 'm\uD800', append_system_prompt: 'sys\u0000' }));
    assert.equal(run.statusCode, 201, run.body);
    assert.equal(run.json().run_options.model, `m${FFFD}`);
    assert.equal(run.json().run_options.append_system_prompt, `sys${FFFD}`);
    const msgs = await call(t.app, 'GET', `/api/sessions/${run.json().id}/messages`);
    assert.equal(msgs.body.data[0].content, `hi${FFFD} there${FFFD}`);
    assert.equal(msgs.body.data[0].metadata.text_replaced, true, 'the prompt follows the same rule (no silent U+FFFD)');
  });

  test('a hook event with a NUL is stored, its data says so', async () => {
    const claude = randomUUID();
    const r = await raw('POST', '/api/hooks/notification', JSON.stringify({ session_id: claude, hook_event_name: 'Notification', message: 'wait\u0000ing' }));
    assert.equal(r.statusCode, 200, r.body);
    const ev = await call(t.app, 'GET', `/api/sessions/${r.json().session_id}/events`);
    assert.equal(ev.body.data[0].data.message, `wait${FFFD}ing`);
    assert.equal(ev.body.data[0].data._text_replaced, true);
  });

  test('identifiers and filters with NUL or a lone surrogate are refused with 400 invalid_text', async () => {
    const id = await recordSession();
    for (const url of ['/api/sessions?q=%00', `/api/sessions/${id}/logs?tool=a%00b`, `/api/sessions/${id}/events?event=%00`]) {
      const r = await call(t.app, 'GET', url);
      assert.ok(r.status === 400, `${url}: ${r.status} ${JSON.stringify(r.body)}`);
      assertErrorShape(r.body, url);
    }
    const nulQ = await call(t.app, 'GET', '/api/sessions?q=%00');
    assert.equal(nulQ.body.error.code, 'invalid_text');
    for (const body of [
      { session_id: 'a\u0000b', tool_name: 'Bash', tool_use_id: 'x' },
      { session_id: 'a\uD800b', tool_name: 'Bash', tool_use_id: 'x' },
      { session_id: randomUUID(), tool_name: 'Bash', tool_use_id: 't\u0000' },
    ]) {
      const r = await raw('POST', '/api/hooks/tool-complete', JSON.stringify(body));
      assert.equal(r.statusCode, 400, r.body);
      assert.equal(r.json().error.code, 'invalid_text');
    }
    const cs = await raw('POST', '/api/sessions', JSON.stringify({ project_path: '/srv/p', claude_session_id: 'c\u0000' }));
    assert.equal(cs.statusCode, 400, cs.body);
    assert.equal(cs.json().error.code, 'invalid_text');
    const pp = await raw('POST', '/api/sessions', JSON.stringify({ project_path: '/srv/\u0000p' }));
    assert.equal(pp.statusCode, 400, pp.body);
    assert.equal(pp.json().error.code, 'invalid_text');
  });
});

describe('JSON depth', () => {
  const deep = (n: number) => '{"a":'.repeat(n) + '1' + '}'.repeat(n);
  test('metadata or tool_input nested 10,000 levels deep is 400 json_too_deep', async () => {
    const id = await recordSession();
    const cases: Array<[string, string, string]> = [
      ['POST', '/api/sessions', `{"project_path":"/srv/p","metadata":${deep(10_000)}}`],
      ['PATCH', `/api/sessions/${id}`, `{"metadata":${deep(10_000)}}`],
      ['POST', `/api/sessions/${id}/messages`, `{"direction":"user","content":"x","run":false,"metadata":${deep(10_000)}}`],
      ['POST', '/api/hooks/tool-complete', `{"session_id":"s","tool_name":"Bash","tool_input":${deep(10_000)}}`],
      ['POST', '/api/hooks/post-tool-use', `{"session_id":"s","tool_name":"Bash","tool_response":[${'['.repeat(10_000)}${']'.repeat(10_000)}]}`],
    ];
    for (const [method, url, body] of cases) {
      const r = await raw(method, url, body);
      assert.equal(r.statusCode, 400, `${method} ${url}: ${r.body.slice(0, 300)}`);
      assert.equal(r.json().error.code, 'json_too_deep');
    }
  });

  test('nesting up to the limit is accepted', async () => {
    const id = await recordSession();
    const r = await raw('PATCH', `/api/sessions/${id}`, `{"metadata":${deep(60)}}`);
    assert.equal(r.statusCode, 200, r.body.slice(0, 300));
  });
});

describe('cursors', () => {
  test('a cursor whose date PostgreSQL cannot hold is 400 invalid_cursor', async () => {
    for (const date of ['99999-01-01', '+275760-09-13T00:00:00.000Z', '-004714-01-01T00:00:00.000Z', '2024-13-01']) {
      const cursor = Buffer.from(JSON.stringify([date, randomUUID()])).toString('base64url');
      const r = await call(t.app, 'GET', `/api/sessions?cursor=${cursor}`);
      assert.equal(r.status, 400, `${date}: ${JSON.stringify(r.body)}`);
      assert.equal(r.body.error.code, 'invalid_cursor');
    }
  });
});

describe('every error has the shape {"error":{"code","message"}}', () => {
  test('bad URL encoding, long path parameter, unknown route (inject)', async () => {
    for (const [url, status] of [['/api/sessions/%ZZ', 400], [`/api/sessions/${'a'.repeat(500)}`, 414], ['/api/nothing', 404], ['/api/sessions/%ZZ/messages', 400]] as const) {
      const r = await call(t.app, 'GET', url);
      assert.equal(r.status, status, `${url}: ${JSON.stringify(r.body)}`);
      assertErrorShape(r.body, url);
    }
  });

  test('over a socket: header overflow (431) and HTTP parser errors answer JSON instead of dropping the connection', async () => {
    await t.app.listen({ host: '127.0.0.1', port: 0 });
    const { port } = t.app.server.address() as net.AddressInfo;
    const send = (text: string) =>
      new Promise<string>((resolve, reject) => {
        const s = net.connect(port, '127.0.0.1', () => s.write(text));
        let got = '';
        s.on('data', (d) => (got += d.toString()));
        s.on('error', reject);
        s.on('close', () => resolve(got));
      });
    const cases: Array<[string, number]> = [
      [`GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: ${'a'.repeat(64 * 1024)}\r\n\r\n`, 431],
      [`GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: nope\r\n\r\n`, 400],
      [`BLAH\r\n\r\n`, 400],
      [`GET /api/sessions/%ZZ HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`, 400],
    ];
    for (const [req, status] of cases) {
      const res = await send(req);
      assert.match(res, new RegExp(`^HTTP/1\\.1 ${status} `), `${JSON.stringify(req.slice(0, 60))}: ${res.slice(0, 200)}`);
      const body = JSON.parse(res.slice(res.indexOf('\r\n\r\n') + 4)) as unknown;
      assertErrorShape(body, req.slice(0, 40));
    }
  });
});

describe('server errors carry a request id and hide internals', () => {
  test('a 5xx is logged with its cause and the id the response carries', async () => {
    const { logger: errorLog, lines } = capturingLogger('error');
    const broken = await createTestApp({ logger: errorLog });
    try {
      const ok = await call(broken.app, 'GET', '/api/sessions');
      assert.match(String(ok.headers['x-request-id']), /^[0-9a-f-]{36}$/, 'every response carries x-request-id');
      await broken.db.database.close();
      const r = await call(broken.app, 'GET', '/api/sessions');
      assert.equal(r.status, 500);
      const rid = String(r.headers['x-request-id']);
      assert.match(rid, /^[0-9a-f-]{36}$/);
      assert.equal(r.body.error.code, 'internal_error');
      assert.equal(r.body.error.request_id, rid);
      assert.ok(!/pglite|postgres|closed|terminat|pool/i.test(r.body.error.message), r.body.error.message);
      const line = lines.find((l) => l.reqId === rid);
      assert.ok(line, `a log line with reqId ${rid}: ${JSON.stringify(lines)}`);
      assert.ok((line.err as { message?: string } | undefined)?.message, 'the cause is logged');
    } finally {
      await broken.close().catch(() => {});
    }
  });
});

describe('Host check (DNS rebinding) and CORS', () => {
  test('a Host that is not this server is 403; loopback names and IP literals pass', async () => {
    for (const host of ['evil.example', 'evil.example:3000', 'localhost.evil.example']) {
      const r = await t.app.inject({ method: 'GET', url: '/api/sessions', headers: { host } });
      assert.equal(r.statusCode, 403, host);
      assert.equal(r.json().error.code, 'host_not_allowed');
    }
    const ev = await t.app.inject({ method: 'GET', url: '/api/events', headers: { host: 'rebind.example:3000' } });
    assert.equal(ev.statusCode, 403, 'the event stream too');
    for (const host of ['localhost', 'localhost:3000', '127.0.0.1:3000', '[::1]:3000', 'app.localhost:3000']) {
      const r = await t.app.inject({ method: 'GET', url: '/api/health', headers: { host } });
      assert.equal(r.statusCode, 200, host);
    }
  });

  test('no CORS headers by default', async () => {
    const r = await t.app.inject({ method: 'GET', url: '/api/health', headers: { origin: 'http://evil.example' } });
    assert.equal(r.headers['access-control-allow-origin'], undefined);
    const pre = await t.app.inject({ method: 'OPTIONS', url: '/api/sessions', headers: { origin: 'http://evil.example', 'access-control-request-method': 'POST' } });
    assert.equal(pre.headers['access-control-allow-origin'], undefined);
  });

  test('ALLOWED_HOSTS adds names, * turns the check off; CORS_ORIGINS allows listed origins only', async () => {
    const custom = await createTestApp({ http: { allowedHosts: ['orchestrator.internal', '.corp.example'], corsOrigins: ['https://ui.example'] } });
    try {
      for (const [host, status] of [['orchestrator.internal:8080', 200], ['a.corp.example', 200], ['corp.example.evil', 403], ['evil.example', 403]] as const) {
        const r = await custom.app.inject({ method: 'GET', url: '/api/health', headers: { host } });
        assert.equal(r.statusCode, status, host);
      }
      const ok = await custom.app.inject({ method: 'GET', url: '/api/health', headers: { origin: 'https://ui.example' } });
      assert.equal(ok.headers['access-control-allow-origin'], 'https://ui.example');
      const pre = await custom.app.inject({ method: 'OPTIONS', url: '/api/sessions', headers: { origin: 'https://ui.example', 'access-control-request-method': 'POST' } });
      assert.equal(pre.statusCode, 204);
      assert.equal(pre.headers['access-control-allow-origin'], 'https://ui.example');
      const other = await custom.app.inject({ method: 'GET', url: '/api/health', headers: { origin: 'https://evil.example' } });
      assert.equal(other.headers['access-control-allow-origin'], undefined);
    } finally {
      await custom.close();
    }
    const open = await createTestApp({ http: { allowedHosts: ['*'] } });
    try {
      const r = await open.app.inject({ method: 'GET', url: '/api/health', headers: { host: 'anything.example' } });
      assert.equal(r.statusCode, 200);
    } finally {
      await open.close();
    }
  });
});
