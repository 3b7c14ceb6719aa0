import pino, { type Logger } from 'pino';
import { defaultRedactor, type Redactor } from './lib/redact.ts';

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

/**
 * JSON lines by default; pretty only when attached to a terminal. Besides the paths above, every
 * line goes through the redactor (src/lib/redact.ts, the same rules as stored text): the message,
 * the logged fields and errors' messages and stacks, which may quote a command or a URL.
 */
export function createLogger(level: string, opts: { pretty?: boolean; redactor?: Redactor; destination?: pino.DestinationStream } = {}): Logger {
  const pretty = opts.pretty ?? Boolean(process.stdout.isTTY);
  const r = opts.redactor ?? defaultRedactor;
  const options: pino.LoggerOptions = {
    level,
    redact: { paths: REDACT, censor: '[redacted]' },
    // Fields are redacted before serializers run; errors (class instances, left as they are there) after.
    formatters: { log: (o) => r.deep(o) },
    // pino's serialized error has its own prototype, which deep() would leave alone: copy it first.
    serializers: { err: (e: Error) => r.deep({ ...pino.stdSerializers.err(e) }) },
    hooks: {
      logMethod(args, method) {
        method.apply(this, args.map((a) => (typeof a === 'string' ? r.text(a) : a)) as typeof args);
      },
    },
    ...(pretty && !opts.destination ? { transport: { target: 'pino-pretty', options: { colorize: true, translateTime: 'SYS:HH:MM:ss.l' } } } : {}),
  };
  return opts.destination ? pino(options, opts.destination) : pino(options);
}
