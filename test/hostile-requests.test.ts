/**
 * Malformed requests generated from the OpenAPI document (issue 9): for every operation,
 * hostile values (NUL, lone surrogates, deep JSON, huge numbers, wrong types, bad cursors,
 * bad percent-encoding, long paths) go into each path parameter, query parameter and body
 * field, over real HTTP. No answer may be a 5xx, no connection may be dropped, and every
 * 4xx has the shape {"error":{"code","message"}}. About 1,500 requests, bounded.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import { after, before, test } from 'node:test';
import { call, createTestApp, type TestApp } from './helpers/app.ts';

interface Case {
  what: string;
  method: string;
  path: string;
  body?: string | undefined;
  contentType?: string | undefined;
}

interface Outcome {
  status: number;
  body: string;
  contentType: string;
}

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

// Raw JSON put in place of a sentinel string: values JSON.stringify cannot make (or would overflow on).
const RAW: Record<string, string> = {
  '"__DEEP_OBJECT__"': '{"a":'.repeat(10_000) + '1' + '}'.repeat(10_000),
  '"__DEEP_ARRAY__"': '['.repeat(10_000) + ']'.repeat(10_000),
  '"__HUGE__"': '1e999',
  '"__BIG_INT__"': '18446744073709551616',
  '"__NEG_HUGE__"': '-1e308',
};
const withRaw = (json: string) => Object.entries(RAW).reduce((s, [k, v]) => s.replaceAll(k, v), json);

const HOSTILE_VALUES: unknown[] = [
  'a\u0000b', 'x\uD800y', '\uDC00', '\u0000', 'x'.repeat(20_000), '%ZZ', '../../../../etc/passwd', '', ' ', '-rf',
  '__DEEP_OBJECT__', '__DEEP_ARRAY__', '__HUGE__', '__BIG_INT__', '__NEG_HUGE__', -1, 0, 1.5, 2 ** 53 + 2,
  null, true, [], {}, ['\u0000'], { 'k\u0000': 'v\uD800' }, { __proto__: 1 },
];

const cursor = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
const QUERY_VALUES: string[] = [
  '%00', 'a%00b', '%ED%A0%80', '%ZZ', 'x'.repeat(5_000), '-1', '0', '1e308', '99999999999999999999', 'abc', '', '%20',
  cursor(['99999-01-01', randomUUID()]), cursor(['+275760-09-13T00:00:00.000Z', randomUUID()]), cursor([1e308]), cursor({}),
  cursor(-1), cursor(2 ** 60), cursor(['2024-01-01T00:00:00.000Z', 'not-a-uuid']), cursor('x\u0000'), 'not-base64!', '%00%00',
];

const PATH_VALUES: string[] = ['%00', '%ZZ', 'a'.repeat(500), '..', '%2e%2e', '%ED%A0%80', `${randomUUID()}%00`, randomUUID(), '0', 'x'.repeat(90)];

type Schema = { type?: string | string[]; properties?: Record<string, Schema>; required?: string[]; enum?: unknown[]; anyOf?: Schema[]; default?: unknown };
type Operation = { parameters?: Array<{ in: string; name: string; schema?: Schema }>; requestBody?: { content?: Record<string, { schema?: Schema }> } };

/** A value of the schema's type, so a body is valid except for the one field made hostile. */
function sample(s: Schema | undefined): unknown {
  if (!s) return 'x';
  if (s.enum?.length) return s.enum[0];
  if (s.default !== undefined) return s.default;
  const type = Array.isArray(s.type) ? s.type.find((x) => x !== 'null') : s.type ?? s.anyOf?.[0]?.type;
  if (type === 'string') return 'sample';
  if (type === 'integer' || type === 'number') return 1;
  if (type === 'boolean') return false;
  if (type === 'array') return [];
  if (type === 'object') return {};
  return 'x';
}

/** Bodies that get past the domain's own checks, so hostile fields reach storage. */
const BASE_BODIES: Record<string, Record<string, unknown>> = {
  'POST /api/sessions': { project_path: '/srv/work/hostile-new' },
  'PATCH /api/sessions/{id}': { metadata: { a: 1 } },
  'POST /api/sessions/{id}/messages': { direction: 'assistant', content: 'x' },
  'POST /api/hooks/tool-complete': { session_id: 'hostile-claude', tool_name: 'Bash', tool_use_id: 'toolu_1' },
  'POST /api/hooks/{event}': { session_id: 'hostile-claude-2', hook_event_name: 'Notification', message: 'm' },
};
const BASE_PARAMS: Record<string, () => string> = { id: () => sessionId, event: () => 'notification' };

function casesFor(path: string, method: string, op: Operation): Case[] {
  const key = `${method.toUpperCase()} ${path}`;
  const params = (op.parameters ?? []).filter((p) => p.in === 'path');
  const queries = (op.parameters ?? []).filter((p) => p.in === 'query');
  const fill = (overrides: Record<string, string> = {}) =>
    path.replace(/\{(\w+)\}/g, (_m, name: string) => overrides[name] ?? encodeURIComponent(BASE_PARAMS[name]?.() ?? 'x'));
  const out: Case[] = [];
  const M = method.toUpperCase();
  for (const p of params) for (const v of PATH_VALUES) out.push({ what: `${key} path ${p.name}=${v.slice(0, 40)}`, method: M, path: fill({ [p.name]: v }) });
  for (const q of queries) for (const v of QUERY_VALUES) out.push({ what: `${key} query ${q.name}=${v.slice(0, 40)}`, method: M, path: `${fill()}?${q.name}=${v}` });
  out.push({ what: `${key} unknown query`, method: M, path: `${fill()}?zz%00=1&limit=1&limit=2` });
  const schema = op.requestBody?.content?.['application/json']?.schema;
  if (schema) {
    const base: Record<string, unknown> = { ...BASE_BODIES[key] };
    for (const r of schema.required ?? []) if (!(r in base)) base[r] = sample(schema.properties?.[r]);
    const fields = Object.keys(schema.properties ?? {});
    for (const f of [...fields, 'unknown_field\u0000']) {
      for (const v of HOSTILE_VALUES) {
        out.push({ what: `${key} body.${f}=${JSON.stringify(v)?.slice(0, 40)}`, method: M, path: fill(), body: withRaw(JSON.stringify({ ...base, [f]: v })) });
      }
    }
    for (const [what, body, contentType] of [
      ['truncated JSON', '{"a":', undefined], ['empty body', '', undefined], ['array body', '[]', undefined], ['null body', 'null', undefined],
      ['deep body', RAW['"__DEEP_OBJECT__"'], undefined], ['string body', '"\\u0000"', undefined], ['text/plain', 'hi', 'text/plain'],
      ['form body', 'a=1', 'application/x-www-form-urlencoded'], ['json with charset', JSON.stringify(base), 'application/json; charset=latin1'],
      ['proto poisoning', '{"__proto__":{"x":1}}', undefined], ['too large', `{"a":"${'x'.repeat(1_100_000)}"}`, undefined],
    ] as const) {
      out.push({ what: `${key} ${what}`, method: M, path: fill(), body, contentType: contentType ?? 'application/json' });
    }
  }
  return out;
}

function send(c: Case): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const body = c.body === undefined ? undefined : Buffer.from(c.body);
    const req = http.request(
      {
        host: '127.0.0.1', port, method: c.method, path: c.path, agent: false,
        headers: body ? { 'content-type': c.contentType ?? 'application/json', 'content-length': body.length } : {},
      },
      (res) => {
        const contentType = String(res.headers['content-type'] ?? '');
        if (contentType.startsWith('text/event-stream')) {
          res.destroy();
          resolve({ status: res.statusCode ?? 0, body: '', contentType });
          return;
        }
        const chunks: Buffer[] = [];
        res.on('data', (d: Buffer) => chunks.push(d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString(), contentType }));
        res.on('error', reject);
      },
    );
    req.setTimeout(30_000, () => req.destroy(new Error('no answer in 30 s')));
    req.on('error', reject);
    req.end(body);
  });
}

/** Requests the HTTP parser itself refuses; written on a socket, the answer read until close. */
function sendRaw(text: string): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => s.write(text));
    let got = '';
    s.setTimeout(30_000, () => s.destroy(new Error('no answer in 30 s')));
    s.on('data', (d) => (got += d.toString('latin1')));
    s.on('error', reject);
    s.on('close', () => {
      const m = /^HTTP\/1\.1 (\d{3})/.exec(got);
      const ct = /content-type: ([^\r\n]*)/i.exec(got)?.[1] ?? '';
      resolve({ status: m ? Number(m[1]) : 0, body: got.slice(got.indexOf('\r\n\r\n') + 4), contentType: ct });
    });
  });
}

function problem(c: { what: string }, o: Outcome): string | undefined {
  if (o.status === 0) return `${c.what}: no HTTP answer`;
  if (o.status >= 500) return `${c.what}: ${o.status} ${o.body.slice(0, 200)}`;
  if (o.status < 400) return undefined;
  try {
    const b = JSON.parse(o.body) as { error?: { code?: unknown; message?: unknown } };
    if (typeof b.error?.code !== 'string' || typeof b.error.message !== 'string') return `${c.what}: ${o.status} in another shape: ${o.body.slice(0, 200)}`;
  } catch {
    return `${c.what}: ${o.status} not JSON: ${o.body.slice(0, 200)}`;
  }
  return undefined;
}

test('malformed requests from the OpenAPI document: no 5xx, no dropped connection, one error shape', { timeout: 240_000 }, async () => {
  const doc = (await call(t.app, 'GET', '/api/openapi.json')).body as { paths: Record<string, Record<string, Operation>> };
  const cases: Case[] = [];
  for (const [path, ops] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(ops)) cases.push(...casesFor(path, method, op));
  }
  assert.ok(Object.keys(doc.paths).length >= 10, 'the document lists the API');
  assert.ok(cases.length > 500 && cases.length < 3000, `a bounded number of cases: ${cases.length}`);
  const problems: string[] = [];
  const counts = new Map<number, number>();
  // A few at a time: fast enough, and a dropped connection is not hidden by a queue of others.
  for (let i = 0; i < cases.length; i += 8) {
    await Promise.all(cases.slice(i, i + 8).map(async (c) => {
      let o: Outcome;
      try {
        o = await send(c);
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
      o = await sendRaw(text);
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
