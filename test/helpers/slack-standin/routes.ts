/** The stand-in's non-API HTTP endpoints: the upload URL, response URLs, file downloads. */
import type http from 'node:http';
import { parseMultipart, sendJson } from './http.ts';
import type { SlackStore } from './store.ts';
import type { ApiResult, Identity, RecordedResponse } from './types.ts';
import { hasContent, readContent, str } from './validate.ts';

/** Where a response_url leads: the conversation and user of the command or action it came with. */
export interface ResponseTarget {
  channel?: string;
  user?: string;
  created: number;
  uses: number;
}

/** Slack lets a response_url be used five times within thirty minutes. */
const RESPONSE_URL_USES = 5;
const RESPONSE_URL_TTL_MS = 30 * 60_000;

export interface RouteResult {
  status: number;
  /** Sent as JSON when an object, as text when a string. */
  body: string | ApiResult;
  ok: boolean;
  error?: string;
  params: Record<string, unknown>;
}

export const send = (res: http.ServerResponse, r: RouteResult): void => {
  if (typeof r.body === 'string') res.writeHead(r.status, { 'content-type': 'text/plain; charset=utf-8' }).end(r.body);
  else sendJson(res, r.status, r.body);
};

/** POST to an upload URL: the bytes, raw or as the file part of a multipart form (what the SDK sends). */
export function upload(store: SlackStore, key: string, req: http.IncomingMessage, raw: Buffer): RouteResult {
  const f = [...store.files.values()].find((x) => x.uploadKey === key);
  if (!f) return { status: 404, body: 'Not Found', ok: false, error: 'not_found', params: { key } };
  const type = String(req.headers['content-type'] ?? '');
  let bytes = raw;
  if (type.toLowerCase().startsWith('multipart/form-data')) {
    const parts = parseMultipart(raw, type);
    const part = parts.find((p) => p.filename !== undefined) ?? parts[0];
    if (!part) return { status: 400, body: 'Bad Request', ok: false, error: 'no_file_data', params: { file_id: f.id } };
    bytes = part.data;
  }
  f.bytes = Buffer.from(bytes);
  return { status: 200, body: `OK - ${bytes.length}`, ok: true, params: { file_id: f.id, size: bytes.length } };
}

/**
 * POST to a response URL (JSON, as Bolt's respond() sends). `response_type: in_channel` posts
 * into the conversation as the bot; otherwise the user gets an ephemeral message.
 */
export function response(
  store: SlackStore,
  target: ResponseTarget | undefined,
  rid: string,
  url: string,
  raw: Buffer,
  responses: RecordedResponse[],
): RouteResult {
  const done = (status: number, body: string | ApiResult, parsed: Record<string, unknown>, error?: string): RouteResult => {
    responses.push({ id: rid, url, body: parsed, status, at: Date.now() });
    return { status, body, ok: status === 200, ...(error ? { error } : {}), params: parsed };
  };
  let v: unknown;
  try {
    v = JSON.parse(raw.toString());
  } catch {
    v = undefined;
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return done(400, 'invalid_payload', { raw: raw.toString() }, 'invalid_payload');
  const parsed = v as Record<string, unknown>;
  if (!target) return done(404, 'no_such_url', parsed, 'no_such_url');
  if (Date.now() - target.created > RESPONSE_URL_TTL_MS) return done(404, 'expired_url', parsed, 'expired_url');
  if (target.uses >= RESPONSE_URL_USES) return done(404, 'used_url', parsed, 'used_url');
  const read = readContent(parsed);
  if ('result' in read) return done(400, String(read.result.error), parsed, read.result.error);
  target.uses += 1;
  const c = read.content;
  const deleting = parsed.delete_original === true || parsed.delete_original === 'true';
  if (!deleting && !hasContent(c)) return done(400, 'no_text', parsed, 'no_text');
  if (target.channel && !deleting) {
    const threadTs = str(parsed.thread_ts);
    const root = threadTs ? store.find(target.channel, threadTs) : undefined;
    if (parsed.response_type === 'in_channel') {
      const m = store.botMessage(target.channel, store.nextTs());
      m.text = c.text ?? '';
      if (c.blocks) m.blocks = c.blocks;
      if (root) Object.assign(m, { thread_ts: root.thread_ts ?? root.ts, parent_user_id: root.user });
      store.add(m);
    } else if (target.user) {
      store.ephemeral.push({
        channel: target.channel, user: target.user, ts: store.nextTs(), text: c.text ?? '', via: 'response_url',
        ...(c.blocks ? { blocks: c.blocks } : {}), ...(root ? { thread_ts: root.thread_ts ?? root.ts } : {}),
      });
    }
  }
  return done(200, { ok: true }, parsed);
}

/** GET a file's url_private: needs the bot token, like Slack's file downloads. */
export function download(store: SlackStore, id: Identity, fileId: string, req: http.IncomingMessage, res: http.ServerResponse): void {
  const f = store.files.get(fileId);
  if (String(req.headers.authorization ?? '') !== `Bearer ${id.botToken}`) return void res.writeHead(403).end('Forbidden');
  if (!f?.bytes || !f.completed) return void res.writeHead(404).end('Not Found');
  res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': f.bytes.length }).end(f.bytes);
}
