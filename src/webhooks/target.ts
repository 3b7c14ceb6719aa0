/**
 * Where a webhook may POST, and the POST itself. A target URL is http(s) without credentials;
 * its host must resolve to public addresses only (the address ranges of
 * src/workspaces/remote-target.ts: loopback, private, link-local, CGNAT, …), unless the host or
 * address is listed in WEBHOOK_ALLOW_PRIVATE_HOSTS. The check runs when a subscription is made and
 * again before every attempt, and the connection goes to the very address just checked (a pinned
 * lookup), so a DNS answer that changes in between (rebinding) cannot lead the request inside.
 * Redirects are never followed: a 3xx is a failed attempt, so it cannot bypass the check either.
 */
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { badRequest } from '../lib/errors.ts';
import { AllowList, isPrivateAddress, systemResolve, type Resolve } from '../workspaces/remote-target.ts';

export interface TargetPolicy {
  /** WEBHOOK_ALLOW_PRIVATE_HOSTS: host names, addresses and CIDRs. */
  allowPrivateHosts: readonly string[];
  /** Tests resolve names their own way. */
  resolve?: Resolve | undefined;
}

/** The URL if it may be a webhook target at all (scheme, no credentials); else AppError 400. */
export function parseTargetUrl(raw: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw badRequest('invalid_request', 'body.url: not a URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw badRequest('invalid_request', 'body.url: must be an http or https URL');
  // A password in the URL would be redacted from stored text and logs (src/lib/redact.ts), and the signature is the way to authenticate us.
  if (url.username || url.password) throw badRequest('invalid_request', 'body.url: must not carry a user name or password; verify the x-cco-signature header instead');
  return url;
}

export interface Pinned {
  address: string;
  family: 4 | 6;
}

/**
 * The addresses the URL's host resolves to, refused (AppError 400 `webhook_url_private`) when any
 * is loopback, private or link-local and not allowed; `webhook_host_unresolvable` when it has none.
 */
export async function checkTarget(url: URL, policy: TargetPolicy): Promise<Pinned[]> {
  const host = url.hostname.replace(/^\[|\]$/g, '');
  let addresses: string[];
  try {
    addresses = net.isIP(host) ? [host] : await (policy.resolve ?? systemResolve)(host);
  } catch {
    addresses = [];
  }
  if (addresses.length === 0) throw badRequest('webhook_host_unresolvable', `body.url: the host ${host} cannot be resolved`);
  const allow = new AllowList(policy.allowPrivateHosts);
  if (!allow.host(host) && addresses.some((a) => isPrivateAddress(a) && !allow.address(a))) {
    throw badRequest('webhook_url_private', 'body.url: the host resolves to a loopback, private or link-local address; list it in WEBHOOK_ALLOW_PRIVATE_HOSTS to allow it (a local n8n, say)');
  }
  return addresses.map((a) => ({ address: a, family: net.isIP(a) === 6 ? 6 : 4 }));
}

export interface PostResult {
  ok: boolean;
  status: number | null;
  /** The start of the receiver's answer (RESPONSE_EXCERPT_BYTES). */
  response: string | null;
  error: string | null;
}

const RESPONSE_EXCERPT_BYTES = 1024;
// Kept-alive connections: a busy receiver is not paid a TCP (and TLS) handshake per delivery.
// A pooled connection was made to an address checked when it was opened.
const agents = { 'http:': new http.Agent({ keepAlive: true, maxSockets: 64 }), 'https:': new https.Agent({ keepAlive: true, maxSockets: 64 }) };

/**
 * POSTs `body` to `url`, connecting only to the addresses checked (`pins`) whatever DNS says now
 * (Node tries them in turn, as it would a name's addresses). Never throws.
 */
export function postJson(url: URL, pins: Pinned[], headers: Record<string, string>, body: string, timeoutMs: number): Promise<PostResult> {
  const lookup = ((_host: string, opts: { all?: boolean }, cb: (...args: unknown[]) => void) => {
    if (opts.all) cb(null, pins);
    else cb(null, pins[0]!.address, pins[0]!.family);
  }) as unknown as net.LookupFunction;
  return new Promise((resolve) => {
    const options: http.RequestOptions = {
      method: 'POST',
      agent: agents[url.protocol as 'http:' | 'https:'],
      lookup,
      headers: { ...headers, 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) },
      signal: AbortSignal.timeout(timeoutMs),
    };
    const onResponse = (res: http.IncomingMessage) => {
      const chunks: Buffer[] = [];
      let size = 0;
      const done = () => {
        const status = res.statusCode ?? 0;
        const text = Buffer.concat(chunks).subarray(0, RESPONSE_EXCERPT_BYTES).toString('utf8');
        const ok = status >= 200 && status < 300;
        resolve({ ok, status, response: text, error: ok ? null : status >= 300 && status < 400 ? `redirect (${status}) not followed` : `http ${status}` });
      };
      res.on('data', (c: Buffer) => {
        if (size < RESPONSE_EXCERPT_BYTES) chunks.push(c);
        size += c.length;
      });
      res.on('end', done);
      // A receiver that answers and then hangs or breaks the body: the status is what counts.
      res.on('error', done);
    };
    const req = url.protocol === 'https:' ? https.request(url, options, onResponse) : http.request(url, options, onResponse);
    req.on('error', (e: NodeJS.ErrnoException) => {
      const error = e.name === 'AbortError' || e.name === 'TimeoutError' ? `timeout after ${timeoutMs} ms` : (e.code ?? e.message);
      resolve({ ok: false, status: null, response: null, error });
    });
    req.end(body);
  });
}
