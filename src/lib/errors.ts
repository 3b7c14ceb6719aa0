/**
 * Domain errors carry a stable `code` (part of the API contract) and the HTTP
 * status the error handler maps them to. Domain code throws these; it never
 * builds HTTP responses itself.
 */
export class AppError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly statusCode: number,
    options?: { cause?: unknown; details?: Record<string, unknown> },
  ) {
    super(message, options);
    this.name = 'AppError';
    this.details = options?.details;
  }

  /** Facts a client can act on (sent as `error.details`), e.g. who decided an approval and when. */
  readonly details: Record<string, unknown> | undefined;
}

export const notFound = (what: string, id: string) => new AppError('not_found', `${what} ${id} does not exist`, 404);
export const badRequest = (code: string, message: string) => new AppError(code, message, 400);
export const conflict = (code: string, message: string, details?: Record<string, unknown>) => new AppError(code, message, 409, details ? { details } : undefined);

/** A hook event naming a Claude session of another owner: nothing is written, and nothing said about that session. */
export const foreignClaudeSession = () => new AppError('not_found', 'session_id: no session this key may write to has this Claude Code session id', 404);
