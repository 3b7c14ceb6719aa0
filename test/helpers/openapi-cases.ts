/**
 * Hostile requests generated from the OpenAPI document (issue 9; reused by the security
 * suite, issue 11): for every operation, hostile values (NUL, lone surrogates, deep JSON,
 * huge numbers, wrong types, bad cursors, bad percent-encoding, long paths) go into each path
 * parameter, query parameter and body field, each case valid except for the one hostile part.
 */
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import net from 'node:net';

export interface Case {
  what: string;
  method: string;
  path: string;
  body?: string | undefined;
  contentType?: string | undefined;
}

export interface Outcome {
  status: number;
  body: string;
  contentType: string;
}

export type Schema = { type?: string | string[]; properties?: Record<string, Schema>; required?: string[]; enum?: unknown[]; anyOf?: Schema[]; default?: unknown };
export type Operation = { parameters?: Array<{ in: string; name: string; schema?: Schema }>; requestBody?: { content?: Record<string, { schema?: Schema }> } };
export type OpenApiDoc = { paths: Record<string, Record<string, Operation>> };

// Raw JSON put in place of a sentinel string: values JSON.stringify cannot make (or would overflow on).
export const RAW: Record<string, string> = {
  '"__DEEP_OBJECT__"': '{"a":'.repeat(10_000) + '1' + '}'.repeat(10_000),
  '"__DEEP_ARRAY__"': '['.repeat(10_000) + ']'.repeat(10_000),
  '"__HUGE__"': '1e999',
  '"__BIG_INT__"': '18446744073709551616',
  '"__NEG_HUGE__"': '-1e308',
};
export const withRaw = (json: string) => Object.entries(RAW).reduce((s, [k, v]) => s.replaceAll(k, v), json);

export const HOSTILE_VALUES: unknown[] = [
  'a\u0000b', 'x\uD800y', '\uDC00', '\u0000', 'x'.repeat(20_000), '%ZZ', '../../../../etc/passwd', '', ' ', '-rf',
  '__DEEP_OBJECT__', '__DEEP_ARRAY__', '__HUGE__', '__BIG_INT__', '__NEG_HUGE__', -1, 0, 1.5, 2 ** 53 + 2,
  null, true, [], {}, ['\u0000'], { 'k\u0000': 'v\uD800' }, { __proto__: 1 },
];

const cursor = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
export const QUERY_VALUES: string[] = [
  '%00', 'a%00b', '%ED%A0%80', '%ZZ', 'x'.repeat(5_000), '-1', '0', '1e308', '99999999999999999999', 'abc', '', '%20',
  cursor(['99999-01-01', randomUUID()]), cursor(['+275760-09-13T00:00:00.000Z', randomUUID()]), cursor([1e308]), cursor({}),
  cursor(-1), cursor(2 ** 60), cursor(['2024-01-01T00:00:00.000Z', 'not-a-uuid']), cursor('x\u0000'), 'not-base64!', '%00%00',
];

export const PATH_VALUES: string[] = ['%00', '%ZZ', 'a'.repeat(500), '..', '%2e%2e', '%ED%A0%80', `${randomUUID()}%00`, randomUUID(), '0', 'x'.repeat(90)];

/** A value of the schema's type, so a body is valid except for the one field made hostile. */
export function sample(s: Schema | undefined): unknown {
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

export interface CaseOptions {
  /** `METHOD /path` → a body that gets past the domain's own checks, so hostile fields reach storage. */
  baseBodies: Record<string, Record<string, unknown>>;
  /** Path parameter name → a value that exists (a session id, a hook event name). */
  baseParams: Record<string, () => string>;
  /** Extra hostile body values (added to HOSTILE_VALUES). */
  extraValues?: unknown[];
}

/** The base body of an operation: its BASE_BODIES entry plus a sample of each required field. */
export function baseBody(key: string, op: Operation, o: CaseOptions): Record<string, unknown> | undefined {
  const schema = op.requestBody?.content?.['application/json']?.schema;
  if (!schema) return undefined;
  const base: Record<string, unknown> = { ...o.baseBodies[key] };
  for (const r of schema.required ?? []) if (!(r in base)) base[r] = sample(schema.properties?.[r]);
  return base;
}

export function fillPath(path: string, o: CaseOptions, overrides: Record<string, string> = {}): string {
  return path.replace(/\{(\w+)\}/g, (_m, name: string) => overrides[name] ?? encodeURIComponent(o.baseParams[name]?.() ?? 'x'));
}

export function casesFor(path: string, method: string, op: Operation, o: CaseOptions): Case[] {
  const key = `${method.toUpperCase()} ${path}`;
  const params = (op.parameters ?? []).filter((p) => p.in === 'path');
  const queries = (op.parameters ?? []).filter((p) => p.in === 'query');
  const fill = (overrides: Record<string, string> = {}) => fillPath(path, o, overrides);
  const out: Case[] = [];
  const M = method.toUpperCase();
  for (const p of params) for (const v of PATH_VALUES) out.push({ what: `${key} path ${p.name}=${v.slice(0, 40)}`, method: M, path: fill({ [p.name]: v }) });
  for (const q of queries) for (const v of QUERY_VALUES) out.push({ what: `${key} query ${q.name}=${v.slice(0, 40)}`, method: M, path: `${fill()}?${q.name}=${v}` });
  out.push({ what: `${key} unknown query`, method: M, path: `${fill()}?zz%00=1&limit=1&limit=2` });
  const schema = op.requestBody?.content?.['application/json']?.schema;
  const base = baseBody(key, op, o);
  if (schema && base) {
    const fields = Object.keys(schema.properties ?? {});
    for (const f of [...fields, 'unknown_field\u0000']) {
      for (const v of [...HOSTILE_VALUES, ...(o.extraValues ?? [])]) {
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

/** Every case of every operation of the document. */
export function casesOf(doc: OpenApiDoc, o: CaseOptions): Case[] {
  const cases: Case[] = [];
  for (const [path, ops] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(ops)) cases.push(...casesFor(path, method, op, o));
  }
  return cases;
}

export interface SendOptions {
  port: number;
  headers?: Record<string, string>;
  /** Milliseconds without a complete answer before the request counts as hung. */
  timeoutMs?: number;
  agent?: http.Agent | false;
}

/** One case over real HTTP; an event stream is closed as soon as its headers arrive. */
export function send(c: Case, o: SendOptions): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const body = c.body === undefined ? undefined : Buffer.from(c.body);
    const req = http.request(
      {
        host: '127.0.0.1', port: o.port, method: c.method, path: c.path, agent: o.agent ?? false,
        headers: { ...o.headers, ...(body ? { 'content-type': c.contentType ?? 'application/json', 'content-length': body.length } : {}) },
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
    const timeoutMs = o.timeoutMs ?? 30_000;
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`no answer in ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(body);
  });
}

/** Requests the HTTP parser itself refuses; written on a socket, the answer read until close. */
export function sendRaw(port: number, text: string): Promise<Outcome> {
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

/** What is wrong with an answer: no answer, a 5xx, or an error outside {"error":{"code","message"}}. */
export function problem(c: { what: string }, o: Outcome): string | undefined {
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
