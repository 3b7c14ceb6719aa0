/**
 * Malformed requests generated from the OpenAPI document (issue 9): for every operation,
 * hostile values (NUL, lone surrogates, deep JSON, huge numbers, wrong types, bad cursors,
 * bad percent-encoding, long paths) go into each path parameter, query parameter and body
 * field, over real HTTP. No answer may be a 5xx, no connection may be dropped, and every
 * 4xx has the shape {"error":{"code","message"}}. About 1,500 requests, bounded.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, test } from 'node:test';
import { call, createTestApp, type TestApp } from './helpers/app.ts';
import { casesOf, problem, send, sendRaw, type Case, type OpenApiDoc, type Outcome } from './helpers/openapi-cases.ts';

let t: TestApp;
let port: number;
let sessionId: string;

before(async () => {
  // /bin/false as Claude Code: a request that starts a turn gets a turn that fails at once.
  t = await createTestApp({ runner: { claudePath: '/bin/false' }, bodyLimitBytes: 1024 * 1024 });
  await t.app.listen({ host: '127.0.0.1', port: 0 });
  port = (t.app.server.address() as net.AddressInfo).port;
  const s = await call(t.app, 'POST', '/api/sessions', { project_path: '/srv/work/hostile' });
  sessionId = s.body.id;
  await call(t.app, 'POST', `/api/sessions/${sessionId}/messages`, { direction: 'assistant', content: 'hello' });
});
after(async () => {
  await t.close();
});

/** Bodies that get past the domain's own checks, so hostile fields reach storage. */
const BASE_BODIES: Record<string, Record<string, unknown>> = {
  'POST /api/sessions': { project_path: '/srv/work/hostile-new' },
  'PATCH /api/sessions/{id}': { metadata: { a: 1 } },
  'POST /api/sessions/{id}/messages': { direction: 'assistant', content: 'x' },
  'POST /api/hooks/tool-complete': { session_id: 'hostile-claude', tool_name: 'Bash', tool_use_id: 'toolu_1' },
  'POST /api/hooks/{event}': { session_id: 'hostile-claude-2', hook_event_name: 'Notification', message: 'm' },
};
const BASE_PARAMS: Record<string, () => string> = { id: () => sessionId, event: () => 'notification' };

test('malformed requests from the OpenAPI document: no 5xx, no dropped connection, one error shape', { timeout: 240_000 }, async () => {
  const doc = (await call(t.app, 'GET', '/api/openapi.json')).body as OpenApiDoc;
  const cases: Case[] = casesOf(doc, { baseBodies: BASE_BODIES, baseParams: BASE_PARAMS });
  assert.ok(Object.keys(doc.paths).length >= 10, 'the document lists the API');
  assert.ok(cases.length > 500 && cases.length < 5000, `a bounded number of cases: ${cases.length}`);
  const problems: string[] = [];
  const counts = new Map<number, number>();
  // A few at a time: fast enough, and a dropped connection is not hidden by a queue of others.
  for (let i = 0; i < cases.length; i += 8) {
    await Promise.all(cases.slice(i, i + 8).map(async (c) => {
      let o: Outcome;
      try {
        o = await send(c, { port });
      } catch (e: unknown) {
        problems.push(`${c.what}: connection failed: ${(e as Error).message}`);
        return;
      }
      counts.set(o.status, (counts.get(o.status) ?? 0) + 1);
      const p = problem(c, o);
      if (p) problems.push(p);
    }));
  }
  const raw: Array<[string, string]> = [
    ['long URL', `GET /api/sessions?q=${'a'.repeat(70_000)} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`],
    ['long header', `GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: ${'b'.repeat(70_000)}\r\n\r\n`],
    ['garbage request line', 'HELLO\r\n\r\n'],
    ['bad content-length', 'POST /api/sessions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: -5\r\n\r\n'],
    ['NUL in the request line', 'GET /api/\u0000sessions HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n'],
    ['bad chunked body', 'POST /api/sessions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n'],
    ['foreign Host', 'GET /api/sessions HTTP/1.1\r\nHost: rebind.example\r\nConnection: close\r\n\r\n'],
  ];
  for (const [what, text] of raw) {
    let o: Outcome;
    try {
      o = await sendRaw(port, text);
    } catch (e: unknown) {
      problems.push(`raw ${what}: connection failed: ${(e as Error).message}`);
      continue;
    }
    const p = problem({ what: `raw ${what}` }, o);
    if (p) problems.push(p);
    else if (o.status < 400) problems.push(`raw ${what}: accepted (${o.status})`);
  }
  assert.deepEqual(problems.slice(0, 30), [], `${problems.length} of ${cases.length + raw.length} requests failed the contract; statuses: ${JSON.stringify([...counts])}`);
  // The server is still healthy after all of it.
  assert.equal((await call(t.app, 'GET', '/api/health')).status, 200);
});
