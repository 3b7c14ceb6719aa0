/** fetch() for the API: JSON in and out, and every failure becomes an ApiError with a readable message. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    /** error.details: facts to act on, e.g. who decided an approval first (409 already_decided). */
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/**
 * Called when a request is answered 401: the sign-in expired or was revoked (or there never was
 * one). The app shell sends the browser to the sign-in page. The sign-in calls themselves are
 * exempt: their 401 is a wrong key, shown on the form.
 */
let unauthorized: (() => void) | undefined;
export function onUnauthorized(fn: (() => void) | undefined): void {
  unauthorized = fn;
}

export async function api<T>(method: 'GET' | 'POST' | 'PATCH', path: string, body?: unknown): Promise<T> {
  let res: Response;
  try {
    res = await fetch(path, {
      method,
      headers: body === undefined ? { accept: 'application/json' } : { accept: 'application/json', 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (e: unknown) {
    throw new ApiError(0, 'network_error', `the server cannot be reached: ${(e as Error).message}`);
  }
  const text = await res.text();
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  if (res.status === 401 && !path.startsWith('/api/auth/')) unauthorized?.();
  if (!res.ok) {
    const err = (json as { error?: { code?: string; message?: string; details?: Record<string, unknown> } } | undefined)?.error;
    throw new ApiError(res.status, err?.code ?? `http_${res.status}`, err?.message ?? `${method} ${path} failed with HTTP ${res.status}`, err?.details);
  }
  return json as T;
}

export const errorText = (e: unknown): string => (e instanceof Error ? e.message : String(e));
