/**
 * The command line as an API client (`cco run`, `cco tail`): JSON requests and the live event stream
 * of a running server, over HTTP only. Where the server is and which key to use come from flags or
 * CCO_URL / CCO_API_KEY (client settings: the server's own settings are src/config.ts's). The key is
 * sent as a Bearer token and never printed, not even in errors.
 */

export const DEFAULT_SERVER_URL = 'http://127.0.0.1:3000';

/** Exit codes of `cco run` and `cco tail` (README "Command line"). */
export const EXIT = { completed: 0, failed: 1, limit: 2, usage: 3 } as const;

/** A usage or connection problem: printed, then exit 3. */
export class ClientError extends Error {}

export interface ClientSettings {
  url: string;
  key: string | undefined;
}

/** Flags win over CCO_URL / CCO_API_KEY; the URL loses any trailing slash. */
export function clientSettings(flags: { server?: string | undefined; key?: string | undefined }, env: Record<string, string | undefined>): ClientSettings {
  const raw = flags.server ?? (env.CCO_URL || undefined) ?? DEFAULT_SERVER_URL;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ClientError(`--server / CCO_URL: not a URL: ${raw}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new ClientError(`--server / CCO_URL: must be http or https: ${raw}`);
  return { url: url.toString().replace(/\/+$/, ''), key: flags.key ?? (env.CCO_API_KEY || undefined) };
}

export interface ApiResponse<T> {
  status: number;
  body: T;
}

/** One server event (SSE): its type, id and parsed data. */
export interface ServerEvent {
  event: string;
  id: string | undefined;
  data: Record<string, unknown>;
}

export class ApiClient {
  constructor(readonly settings: ClientSettings) {}

  #headers(extra: Record<string, string> = {}): Record<string, string> {
    return { ...(this.settings.key ? { authorization: `Bearer ${this.settings.key}` } : {}), ...extra };
  }

  /** A JSON request; a 4xx/5xx answer is a ClientError with the server's code and message. */
  async request<T>(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<ApiResponse<T>> {
    let r: Response;
    try {
      r = await fetch(`${this.settings.url}${path}`, {
        method,
        headers: this.#headers(body === undefined ? {} : { 'content-type': 'application/json' }),
        body: body === undefined ? undefined : JSON.stringify(body),
        signal,
      });
    } catch (e: unknown) {
      throw this.#unreachable(e);
    }
    const text = await r.text();
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      throw new ClientError(`${method} ${path}: the server answered ${r.status} with something other than JSON`);
    }
    if (r.status >= 400) {
      const err = (parsed as { error?: { code?: string; message?: string } } | undefined)?.error;
      const hint = r.status === 401 ? ' (set --key or CCO_API_KEY)' : '';
      throw new ClientError(`${method} ${path}: ${r.status} ${err?.code ?? ''}: ${err?.message ?? text.slice(0, 200)}${hint}`);
    }
    return { status: r.status, body: parsed as T };
  }

  /**
   * Reads GET /api/events?<query> and hands each event to `onEvent` until `signal` aborts or the
   * stream ends. Resolves when it ends; rejects (ClientError) when it cannot be opened.
   */
  /** A GET whose body is streamed (GET /api/export): the Response once its status is a success; a 4xx/5xx is a ClientError. */
  async download(path: string, signal?: AbortSignal): Promise<Response> {
    let r: Response;
    try {
      r = await fetch(`${this.settings.url}${path}`, { headers: this.#headers(), signal });
    } catch (e: unknown) {
      throw this.#unreachable(e);
    }
    if (r.status >= 400) {
      const text = await r.text();
      let err: { code?: string; message?: string } | undefined;
      try {
        err = (JSON.parse(text) as { error?: { code?: string; message?: string } }).error;
      } catch {
        err = undefined;
      }
      const hint = r.status === 401 ? ' (set --key or CCO_API_KEY)' : '';
      throw new ClientError(`GET ${path}: ${r.status} ${err?.code ?? ''}: ${err?.message ?? text.slice(0, 200)}${hint}`);
    }
    return r;
  }

  async events(query: Record<string, string | undefined>, onEvent: (e: ServerEvent) => void, signal: AbortSignal): Promise<void> {
    const qs = new URLSearchParams(Object.entries(query).filter((kv): kv is [string, string] => kv[1] !== undefined)).toString();
    let r: Response;
    try {
      r = await fetch(`${this.settings.url}/api/events${qs ? `?${qs}` : ''}`, { headers: this.#headers({ accept: 'text/event-stream' }), signal });
    } catch (e: unknown) {
      if (signal.aborted) return;
      throw this.#unreachable(e);
    }
    if (r.status !== 200 || !r.body) throw new ClientError(`GET /api/events: ${r.status}`);
    const decoder = new TextDecoder();
    let buffer = '';
    const reader = r.body.getReader();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        buffer += decoder.decode(value, { stream: true });
        for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const e = parseBlock(block);
          if (e) onEvent(e);
        }
      }
    } catch (e: unknown) {
      if (!signal.aborted) throw new ClientError(`the event stream broke: ${(e as Error).message}`);
    }
  }

  /** The position of the newest event now (the stream's `ready` id): follow from here to miss nothing. */
  async position(): Promise<string | undefined> {
    const stop = new AbortController();
    let id: string | undefined;
    const timer = setTimeout(() => stop.abort(), 10_000);
    try {
      await this.events({}, (e) => {
        if (e.event === 'ready') {
          id = typeof e.data.id === 'string' ? e.data.id : e.id;
          stop.abort();
        }
      }, stop.signal);
    } finally {
      clearTimeout(timer);
    }
    return id;
  }

  #unreachable(e: unknown): ClientError {
    const cause = (e as { cause?: { code?: string; message?: string } }).cause;
    return new ClientError(`cannot reach the server at ${this.settings.url}: ${cause?.code ?? cause?.message ?? (e as Error).message} (set --server or CCO_URL)`);
  }
}

function parseBlock(block: string): ServerEvent | undefined {
  let event = 'message';
  let id: string | undefined;
  const data: string[] = [];
  for (const line of block.split('\n')) {
    if (line.startsWith('event:')) event = line.slice(6).trim();
    else if (line.startsWith('id:')) id = line.slice(3).trim();
    else if (line.startsWith('data:')) data.push(line.slice(5).trimStart());
  }
  if (data.length === 0) return undefined;
  try {
    return { event, id, data: JSON.parse(data.join('\n')) as Record<string, unknown> };
  } catch {
    return undefined;
  }
}
