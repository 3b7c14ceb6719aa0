/**
 * The only reader of process.env. Every setting is declared once here with its
 * default and meaning; `cco --help` prints this table, so docs cannot drift.
 */
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { PERMISSION_MODES, type PermissionMode } from './runner/options.ts';

interface SettingDef {
  env: string;
  default: string | undefined;
  description: string;
}

export const SETTINGS = [
  { env: 'HOST', default: '127.0.0.1', description: 'Interface the HTTP server listens on (0.0.0.0 to expose it).' },
  { env: 'PORT', default: '3000', description: 'HTTP port for the API and dashboard.' },
  { env: 'DATABASE_URL', default: undefined, description: 'PostgreSQL 15+ URL. Unset: embedded PGlite stored in DATA_DIR.' },
  { env: 'DATA_DIR', default: './.data', description: 'Folder for the embedded database (and other local state).' },
  { env: 'DB_POOL_MAX', default: '10', description: 'Maximum PostgreSQL connections in the pool.' },
  { env: 'LOG_LEVEL', default: 'info', description: 'pino level: fatal, error, warn, info, debug, trace, silent.' },
  { env: 'BODY_LIMIT_BYTES', default: String(5 * 1024 * 1024), description: 'Largest accepted request body (bytes); larger gets 413.' },
  { env: 'RESULT_MAX_BYTES', default: String(50 * 1024), description: 'Tool results longer than this are cut before storage (bytes).' },
  { env: 'CCO_HOME', default: '~/.claude-code-orchestrator', description: 'Folder of the hook forwarder (bin/cco-hook.sh) and its default spool (cco hooks).' },
  { env: 'CCO_SPOOL_DIR', default: undefined, description: 'Spool folder of the hook forwarder. Unset: CCO_HOME/spool. Read by the forwarder at run time too.' },
  { env: 'CCO_HOOK_URL', default: undefined, description: 'Server URL for cco hooks install/status/flush without --url; overrides the installed URL at hook run time. Unset: http://127.0.0.1:PORT.' },
  { env: 'CLAUDE_CONFIG_DIR', default: '~/.claude', description: "Claude Code's own setting: where `cco hooks install --user` edits settings.json." },
  { env: 'WORKSPACES_DIR', default: './.data/workspaces', description: 'Where new session folders (and clones) are made.' },
  { env: 'MAX_CONCURRENT_RUNS', default: 'auto', description: 'Turns run at once across sessions; auto = 4 per core, capped by memory (~300 MB each).' },
  { env: 'TURN_TIMEOUT_S', default: '1800', description: 'Default time limit of one turn (seconds); a session may set timeout_s.' },
  { env: 'DEFAULT_PERMISSION_MODE', default: 'acceptEdits', description: 'Permission mode when a session gives none: default, acceptEdits, plan, bypassPermissions.' },
  { env: 'CLAUDE_PATH', default: undefined, description: 'Claude Code binary to run. Unset: the one shipped with @anthropic-ai/claude-agent-sdk.' },
  { env: 'CLAUDE_ENV_FILE', default: undefined, description: 'KEY=VALUE file of extra environment for Claude Code (e.g. ANTHROPIC_API_KEY); never logged.' },
] as const satisfies readonly SettingDef[];

const intFrom = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

const schema = z.object({
  HOST: z.string().min(1),
  PORT: intFrom(0, 65535),
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must start with postgres:// or postgresql://')
    .optional(),
  DATA_DIR: z.string().min(1),
  DB_POOL_MAX: intFrom(1, 1000),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']),
  BODY_LIMIT_BYTES: intFrom(1024, 1024 * 1024 * 1024),
  RESULT_MAX_BYTES: intFrom(1024, 100 * 1024 * 1024),
  CCO_HOME: z.string().min(1),
  CCO_SPOOL_DIR: z.string().min(1).optional(),
  CCO_HOOK_URL: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }).optional(),
  CLAUDE_CONFIG_DIR: z.string().min(1),
  WORKSPACES_DIR: z.string().min(1),
  MAX_CONCURRENT_RUNS: z.union([z.literal('auto'), intFrom(1, 1000)]),
  TURN_TIMEOUT_S: intFrom(1, 7 * 24 * 3600),
  DEFAULT_PERMISSION_MODE: z.enum(PERMISSION_MODES),
  CLAUDE_PATH: z.string().min(1).optional(),
  CLAUDE_ENV_FILE: z.string().min(1).optional(),
});

/** Environment Claude Code receives from the server's own: provider keys and Claude Code's switches. */
const PASSED_PREFIXES = ['ANTHROPIC_', 'CLAUDE_CODE_'];
const PASSED_NAMES = ['PATH', 'HOME', 'USER', 'LANG', 'LC_ALL', 'TZ', 'TMPDIR', 'SHELL', 'CLAUDE_CONFIG_DIR', 'DISABLE_AUTOUPDATER', 'DISABLE_TELEMETRY', 'API_TIMEOUT_MS', 'BASH_DEFAULT_TIMEOUT_MS', 'BASH_MAX_TIMEOUT_MS', 'HTTPS_PROXY', 'HTTP_PROXY', 'NO_PROXY'];

function passedEnv(env: Record<string, string | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) {
    if (v !== undefined && (PASSED_NAMES.includes(k) || PASSED_PREFIXES.some((p) => k.startsWith(p)))) out[k] = v;
  }
  return out;
}

/** 4 turns per core (turns mostly wait on the model), but no more than memory allows at ~300 MB per Claude Code process. */
export function autoConcurrency(): number {
  const byCpu = 4 * os.availableParallelism();
  const byMemory = Math.floor(os.totalmem() / (300 * 1024 * 1024));
  return Math.max(1, Math.min(byCpu, byMemory));
}

export interface Config {
  http: { host: string; port: number; bodyLimitBytes: number };
  db: { url: string | undefined; dataDir: string; poolMax: number };
  logLevel: z.infer<typeof schema>['LOG_LEVEL'];
  resultMaxBytes: number;
  /** The `cco hooks` commands: forwarder location, spool, server URL, Claude Code's settings folder. */
  hooks: {
    home: string;
    claudeConfigDir: string;
    /** CCO_HOOK_URL / CCO_SPOOL_DIR when set: they win over what an installed hook says. */
    envUrl: string | undefined;
    envSpoolDir: string | undefined;
    defaultUrl: string;
    defaultSpoolDir: string;
  };
  runner: RunnerConfig;
}

export interface RunnerConfig {
  workspacesDir: string;
  maxConcurrentRuns: number;
  turnTimeoutS: number;
  defaultPermissionMode: PermissionMode;
  claudePath: string | undefined;
  envFile: string | undefined;
  /** The subset of the server's environment handed to Claude Code. Never logged. */
  passEnv: Record<string, string>;
}

export class ConfigError extends Error {
  readonly code = 'invalid_config';
}

/** Parses settings from an env-like record; unset or empty values take the default. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const raw: Record<string, string | undefined> = {};
  for (const s of SETTINGS as readonly SettingDef[]) {
    const v = env[s.env];
    raw[s.env] = v === undefined || v === '' ? s.default : v;
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message} (got ${JSON.stringify(raw[String(i.path[0])])})`);
    throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}\nRun \`cco --help\` for every setting.`);
  }
  const c = parsed.data;
  return {
    http: { host: c.HOST, port: c.PORT, bodyLimitBytes: c.BODY_LIMIT_BYTES },
    db: { url: c.DATABASE_URL, dataDir: path.resolve(expandHome(c.DATA_DIR)), poolMax: c.DB_POOL_MAX },
    logLevel: c.LOG_LEVEL,
    resultMaxBytes: c.RESULT_MAX_BYTES,
    hooks: {
      home: path.resolve(expandHome(c.CCO_HOME)),
      claudeConfigDir: path.resolve(expandHome(c.CLAUDE_CONFIG_DIR)),
      envUrl: c.CCO_HOOK_URL?.replace(/\/+$/, ''),
      envSpoolDir: c.CCO_SPOOL_DIR ? path.resolve(expandHome(c.CCO_SPOOL_DIR)) : undefined,
      defaultUrl: `http://127.0.0.1:${c.PORT}`,
      defaultSpoolDir: path.resolve(expandHome(c.CCO_HOME), 'spool'),
    },
    runner: {
      workspacesDir: path.resolve(expandHome(c.WORKSPACES_DIR)),
      maxConcurrentRuns: c.MAX_CONCURRENT_RUNS === 'auto' ? autoConcurrency() : c.MAX_CONCURRENT_RUNS,
      turnTimeoutS: c.TURN_TIMEOUT_S,
      defaultPermissionMode: c.DEFAULT_PERMISSION_MODE,
      claudePath: c.CLAUDE_PATH ? path.resolve(expandHome(c.CLAUDE_PATH)) : undefined,
      envFile: c.CLAUDE_ENV_FILE ? path.resolve(expandHome(c.CLAUDE_ENV_FILE)) : undefined,
      passEnv: passedEnv(env),
    },
  };
}

function expandHome(p: string): string {
  return p === '~' || p.startsWith('~/') ? path.join(os.homedir(), p.slice(1)) : p;
}

/** The settings table shown by `cco --help`. */
export function describeSettings(): string {
  const rows = (SETTINGS as readonly SettingDef[]).map((s) => `  ${s.env.padEnd(20)} ${(s.default ?? '(unset)').padEnd(12)} ${s.description}`);
  return ['Settings (environment variables):', `  ${'NAME'.padEnd(20)} ${'DEFAULT'.padEnd(12)} MEANING`, ...rows].join('\n');
}
