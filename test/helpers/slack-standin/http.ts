/** Request decoding for the Slack stand-in: forms, JSON, multipart, and where the token may be. */
import type http from 'node:http';
import type { Params } from './validate.ts';

export async function readBody(req: http.IncomingMessage): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of req) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

export interface Part {
  name: string;
  filename?: string;
  data: Buffer;
}

/** multipart/form-data parts (what fetch sends for a FormData body, e.g. the upload URL's file). */
export function parseMultipart(raw: Buffer, contentType: string): Part[] {
  const boundary = /boundary=(?:"([^"]+)"|([^;]+))/i.exec(contentType);
  if (!boundary) return [];
  const delim = Buffer.from(`--${boundary[1] ?? boundary[2]}`);
  const parts: Part[] = [];
  let at = raw.indexOf(delim);
  while (at !== -1) {
    const start = at + delim.length;
    if (raw.subarray(start, start + 2).toString() === '--') break;
    const next = raw.indexOf(delim, start);
    if (next === -1) break;
    // Each part: CRLF, headers, CRLF CRLF, data, CRLF, then the next delimiter.
    const chunk = raw.subarray(start + 2, next - 2);
    const split = chunk.indexOf('\r\n\r\n');
    if (split !== -1) {
      const head = chunk.subarray(0, split).toString();
      const name = /name="([^"]*)"/i.exec(head)?.[1] ?? '';
      const filename = /filename="([^"]*)"/i.exec(head)?.[1];
      parts.push({ name, ...(filename !== undefined ? { filename } : {}), data: chunk.subarray(split + 4) });
    }
    at = next;
  }
  return parts;
}

export interface ParsedCall {
  params: Params;
  token?: string;
  /** The body was JSON. */
  json: boolean;
  /** The body could not be decoded (Slack answers invalid_json / invalid_form_data). */
  error?: string;
}

/**
 * A Web API request's parameters: query string, then a form, JSON or multipart body. The token
 * comes from `Authorization: Bearer`, or a `token` form field (Slack accepts both; not in JSON).
 */
export function parseCall(req: http.IncomingMessage, url: URL, raw: Buffer): ParsedCall {
  const params: Params = Object.fromEntries(url.searchParams);
  const type = String(req.headers['content-type'] ?? '').toLowerCase();
  let json = false;
  let error: string | undefined;
  if (type.startsWith('application/json')) {
    json = true;
    try {
      const body = raw.length ? (JSON.parse(raw.toString()) as unknown) : {};
      if (typeof body === 'object' && body !== null && !Array.isArray(body)) Object.assign(params, body);
      else error = 'invalid_json';
    } catch {
      error = 'invalid_json';
    }
  } else if (type.startsWith('multipart/form-data')) {
    for (const p of parseMultipart(raw, type)) params[p.name] = p.filename !== undefined ? p.data : p.data.toString();
  } else if (raw.length) {
    Object.assign(params, Object.fromEntries(new URLSearchParams(raw.toString())));
  }
  const auth = /^Bearer\s+(\S+)$/i.exec(String(req.headers.authorization ?? ''));
  let token = auth?.[1];
  if (!token && !json && typeof params.token === 'string' && params.token) token = params.token;
  delete params.token;
  return { params, json, ...(token ? { token } : {}), ...(error ? { error } : {}) };
}

/** Params fit for the call record: Buffers become a size note, JSON-string fields are decoded. */
export function recordable(p: Params): Params {
  const out: Params = {};
  for (const [k, v] of Object.entries(p)) {
    if (Buffer.isBuffer(v)) out[k] = `<${v.length} bytes>`;
    else if (typeof v === 'string' && /^(blocks|attachments|metadata|files)$/.test(k)) {
      try {
        out[k] = JSON.parse(v) as unknown;
      } catch {
        out[k] = v;
      }
    } else out[k] = v;
  }
  return out;
}

export function sendJson(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const data = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(data), ...headers });
  res.end(data);
}
