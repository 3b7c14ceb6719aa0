import pino, { type Logger } from 'pino';

export type { Logger };

/** Paths pino blanks out wherever they appear, so secrets never reach a log line. */
const REDACT = [
  'req.headers.authorization',
  'req.headers["x-api-key"]',
  '*.ANTHROPIC_API_KEY',
  '*.ANTHROPIC_AUTH_TOKEN',
  '*.CLAUDE_CODE_OAUTH_TOKEN',
  '*.password',
  '*.token',
  'env',
];

/** JSON lines by default; pretty only when attached to a terminal. */
export function createLogger(level: string, opts: { pretty?: boolean } = {}): Logger {
  const pretty = opts.pretty ?? Boolean(process.stdout.isTTY);
  return pino({
    level,
    redact: { paths: REDACT, censor: '[redacted]' },
    ...(pretty ? { transport: { target: 'pino-pretty', options: { colorize: true, translateTime: 'SYS:HH:MM:ss.l' } } } : {}),
  });
}
