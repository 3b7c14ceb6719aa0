/**
 * The only reader of process.env. Every setting is declared once here with its
 * default and meaning; `cco --help` prints this table, so docs cannot drift.
 */
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { parseDisabledRules, parseRedactPatterns, type RuleName } from './lib/redact.ts';
import { hiddenFromJson, MIN_SECRET_LENGTH, SECRET_NAME } from './lib/secrets.ts';
import { parseGitCredentials, type GitCredential } from './workspaces/credentials.ts';
import { CLEANUP_POLICIES, type CleanupPolicy } from './workspaces/port.ts';
import { PERMISSION_MODES, type PermissionMode } from './runner/options.ts';
import { ISOLATION_SETTINGS, type IsolationSetting } from './runner/isolation.ts';

interface SettingDef {
  env: string;
  default: string | undefined;
  description: string;
}

export const SETTINGS = [
  { env: 'HOST', default: '127.0.0.1', description: 'Interface the HTTP server listens on (0.0.0.0 to expose it).' },
  { env: 'PORT', default: '3000', description: 'HTTP port for the API and dashboard.' },
  { env: 'ALLOWED_HOSTS', default: undefined, description: 'Host names accepted in the Host header besides HOST, localhost and IP addresses (comma separated; .example.com includes subdomains; * = no check). Others get 403 (DNS rebinding).' },
  { env: 'CORS_ORIGINS', default: undefined, description: 'Origins that get CORS headers (comma separated; * = any). Unset: no CORS headers.' },
  { env: 'AUTH', default: 'keys', description: 'keys: every /api route but health and the OpenAPI document needs an API key (cco keys); off: no keys, everyone is admin (refused unless HOST is a loopback address).' },
  { env: 'PUBLIC_URL', default: undefined, description: 'The address people reach the server at (links printed at first start, later in Slack); https makes sign-in cookies Secure. Unset: http://localhost:PORT.' },
  { env: 'RATE_LIMIT_PER_MIN', default: '600', description: 'API requests one API key (or one address, for requests without a key) may make per minute; more get 429 with Retry-After (0 = no limit). Health, /docs and dashboard files are not counted.' },
  { env: 'RATE_LIMIT_HOOKS_PER_MIN', default: '60000', description: 'The same for hook events (/api/hooks/*), counted apart (0 = no limit).' },
  { env: 'AUTH_FAILURES_PER_MIN', default: '30', description: 'Failed sign-ins (401) one address may cause per minute; after that it gets 429 for every request until the minute ends (0 = no limit).' },
  { env: 'TRUST_PROXY', default: undefined, description: 'Reverse proxies whose X-Forwarded-For is believed: their addresses or CIDRs (comma separated), or a hop count. Then rate limits, failed sign-ins and the audit log see the client address, not the proxy. Unset: the socket address.' },
  { env: 'HSTS_MAX_AGE_S', default: '0', description: 'Strict-Transport-Security max-age (seconds) when the server is reached only over HTTPS (e.g. behind a TLS proxy); 0 = no HSTS header, and no upgrade-insecure-requests in the CSP.' },
  { env: 'DATABASE_URL', default: undefined, description: 'PostgreSQL 15+ URL. Unset: an embedded PostgreSQL that cco serve starts itself, with its data in DATA_DIR/postgres.' },
  { env: 'DATA_DIR', default: './.data', description: 'Folder for the embedded database (and other local state).' },
  { env: 'DB_POOL_MAX', default: '10', description: 'Maximum PostgreSQL connections in the pool.' },
  { env: 'LOG_LEVEL', default: 'info', description: 'pino level: fatal, error, warn, info, debug, trace, silent.' },
  { env: 'BODY_LIMIT_BYTES', default: String(5 * 1024 * 1024), description: 'Largest accepted request body (bytes); larger gets 413.' },
  { env: 'REQUEST_TIMEOUT_MS', default: '60000', description: 'An API request not answered within this time gets 503 request_timeout (ms; 0 = none). Event streams are exempt.' },
  { env: 'RESULT_MAX_BYTES', default: String(50 * 1024), description: 'Tool results longer than this are cut before storage (bytes).' },
  { env: 'WORKSPACES_DIR', default: undefined, description: 'Folder for workspaces the orchestrator makes (clones, worktrees, archives). Unset: DATA_DIR/workspaces.' },
  { env: 'ALLOWED_ROOTS', default: undefined, description: 'Folders (comma or colon separated) whose subfolders (never a root itself) local sessions, worktree base repos and file:// URLs may use; folders holding or inside WORKSPACES_DIR, DATA_DIR, CCO_HOME or CLAUDE_CONFIG_DIR are refused. A root with {owner} (e.g. /srv/work/{owner}) is each user key\'s own; user keys may use only those, admin keys every root. Unset: none.' },
  { env: 'WORKSPACE_CLEANUP', default: 'keep', description: 'What happens to a workspace the orchestrator made when its session completes: keep, delete or archive.' },
  { env: 'GIT_CLONE_DEPTH', default: '1', description: 'History depth of github clones (0 = full history).' },
  { env: 'GIT_CLONE_TIMEOUT_MS', default: '300000', description: 'Time limit for one clone or fetch (ms).' },
  { env: 'GIT_CLONE_MAX_BYTES', default: String(2 * 1024 ** 3), description: 'A clone growing past this many bytes on disk is stopped and removed.' },
  { env: 'GIT_TIMEOUT_MS', default: '60000', description: 'Time limit for any other git command (ms).' },
  { env: 'GIT_CREDENTIALS', default: undefined, description: 'Private repo tokens: https://user:token@host[/prefix], comma separated. Never stored or logged.' },
  { env: 'MAX_CONCURRENT_GIT_OPS', default: '4', description: 'Clones, fetches (workspace preparation) and diffs run at once; more wait their turn.' },
  { env: 'DIFF_MAX_BYTES', default: String(2 * 1024 * 1024), description: 'GET /api/sessions/:id/diff cuts diffs longer than this (bytes).' },
  { env: 'E2B_API_KEY', default: undefined, description: 'E2B API key; needed for project_type e2b.' },
  { env: 'E2B_TEMPLATE', default: 'base', description: 'E2B sandbox template; it must have git, tar and Claude Code (E2B_CLAUDE_COMMAND) installed.' },
  { env: 'E2B_DOMAIN', default: undefined, description: 'E2B domain (unset: the SDK default, e2b.app).' },
  { env: 'E2B_API_URL', default: undefined, description: 'E2B control-plane URL override (self-hosted E2B or a test stand-in).' },
  { env: 'E2B_SANDBOX_URL', default: undefined, description: 'E2B sandbox (envd) URL override (self-hosted E2B or a test stand-in).' },
  { env: 'E2B_CLAUDE_COMMAND', default: 'claude', description: 'Claude Code executable inside the sandbox.' },
  { env: 'E2B_WORKDIR', default: '/home/user/workspace', description: 'Folder inside the sandbox the repository is copied to.' },
  { env: 'E2B_TIMEOUT_MS', default: '3600000', description: 'Sandbox lifetime (ms); E2B kills it after this even if the session is still open.' },
  { env: 'CCO_HOME', default: '~/.claude-code-orchestrator', description: 'Folder of the hook forwarder (bin/cco-hook.sh) and its default spool (cco hooks).' },
  { env: 'CCO_SPOOL_DIR', default: undefined, description: 'Spool folder of the hook forwarder. Unset: CCO_HOME/spool. Read by the forwarder at run time too.' },
  { env: 'CCO_HOOK_URL', default: undefined, description: 'Server URL for cco hooks install/status/flush without --url; overrides the installed URL at hook run time. Unset: http://127.0.0.1:PORT.' },
  { env: 'CLAUDE_CONFIG_DIR', default: '~/.claude', description: "Claude Code's own setting: where `cco hooks install --user` edits settings.json." },
  { env: 'MAX_CONCURRENT_RUNS', default: 'auto', description: 'Turns run at once across sessions; auto = 4 per core, capped by memory (~300 MB each).' },
  { env: 'TURN_TIMEOUT_S', default: '1800', description: 'Default time limit of one turn (seconds); a session may set timeout_s.' },
  { env: 'TURN_STALL_WARN_S', default: '120', description: 'A turn with no progress (stream message, tool, hook) for this long gets a system message and a warn log (seconds); 0 = off.' },
  { env: 'DEFAULT_PERMISSION_MODE', default: 'acceptEdits', description: 'Permission mode when a session gives none: default, acceptEdits, plan, bypassPermissions.' },
  { env: 'CLAUDE_PATH', default: undefined, description: 'Claude Code binary to run. Unset: the one shipped with @anthropic-ai/claude-agent-sdk.' },
  { env: 'CLAUDE_ENV_FILE', default: undefined, description: 'KEY=VALUE file of extra environment for Claude Code (e.g. ANTHROPIC_API_KEY); never logged.' },
  { env: 'ALLOW_DANGEROUS_MODES', default: 'false', description: 'true lets sessions use permission_mode bypassPermissions (and DEFAULT_PERMISSION_MODE / IS_SANDBOX=1 in CLAUDE_ENV_FILE): Claude Code then runs any command without asking, as the server user. Only inside a disposable sandbox.' },
  { env: 'ISOLATION', default: 'auto', description: "How each turn's Claude Code is confined: bwrap (bubblewrap: only its workspace, Claude Code's config folder and read-only system folders, its own PID namespace; refuses to start without it), off, or auto (bwrap when it works here, else off with a warning at start and in cco doctor)." },
  { env: 'ALLOW_PROJECT_SETTINGS', default: 'false', description: "true lets github and URL worktree sessions that ask (trust_project_settings) load the repository's own .claude/settings.json (its hooks run on this host)." },
  { env: 'ALLOW_PRIVATE_GIT_HOSTS', default: undefined, description: 'Git hosts, IP addresses or CIDRs (comma separated) that repository URLs may reach although they are loopback, private or link-local. Unset: none.' },
  { env: 'REDACT_PATTERNS', default: undefined, description: 'Extra regular expressions (JavaScript syntax, separated by spaces or newlines; write a space inside one as \\s) whose matches are replaced by [redacted] in everything stored or logged, besides the built-in ones. An invalid one stops the start.' },
  { env: 'REDACT_DISABLE', default: undefined, description: 'Built-in redaction patterns to turn off (comma separated): authorization, api_key_header, anthropic_openai, github, slack, aws, google, stripe, cco, url_password, private_key.' },
  { env: 'SSE_REPLAY_MAX_EVENTS', default: '2000', description: 'Live events kept for replay to reconnecting clients (GET /api/events); an older gap gets `reset`.' },
  { env: 'SSE_REPLAY_MAX_BYTES', default: String(16 * 1024 * 1024), description: 'Bytes of live events kept for replay; the oldest leave first.' },
  { env: 'SSE_EVENT_MAX_BYTES', default: String(64 * 1024), description: 'A live event larger than this is sent as a reference (`truncated`, `url`) the client fetches.' },
  { env: 'SSE_MAX_STREAMS', default: '500', description: 'Open event streams at most; more get 503 with Retry-After.' },
  { env: 'SSE_SLOW_CLIENT_TIMEOUT_MS', default: '30000', description: 'An event stream whose client reads nothing for this long is dropped (ms); it reconnects and replays.' },
] as const satisfies readonly SettingDef[];

const intFrom = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

const schema = z.object({
  HOST: z.string().min(1),
  PORT: intFrom(0, 65535),
  ALLOWED_HOSTS: z.string().optional(),
  CORS_ORIGINS: z.string().optional(),
  AUTH: z.enum(['keys', 'off']),
  PUBLIC_URL: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }).optional(),
  RATE_LIMIT_PER_MIN: intFrom(0, 100_000_000),
  RATE_LIMIT_HOOKS_PER_MIN: intFrom(0, 100_000_000),
  AUTH_FAILURES_PER_MIN: intFrom(0, 100_000_000),
  HSTS_MAX_AGE_S: intFrom(0, 10 * 365 * 24 * 3600),
  TRUST_PROXY: z.string().optional(),
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must start with postgres:// or postgresql://')
    .optional(),
  DATA_DIR: z.string().min(1),
  DB_POOL_MAX: intFrom(1, 1000),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']),
  BODY_LIMIT_BYTES: intFrom(1024, 1024 * 1024 * 1024),
  REQUEST_TIMEOUT_MS: intFrom(0, 24 * 3600 * 1000),
  RESULT_MAX_BYTES: intFrom(1024, 100 * 1024 * 1024),
  WORKSPACES_DIR: z.string().min(1).optional(),
  ALLOWED_ROOTS: z.string().optional(),
  WORKSPACE_CLEANUP: z.enum(CLEANUP_POLICIES),
  GIT_CLONE_DEPTH: intFrom(0, 1_000_000),
  GIT_CLONE_TIMEOUT_MS: intFrom(1000, 24 * 3600 * 1000),
  GIT_CLONE_MAX_BYTES: intFrom(1024 * 1024, Number.MAX_SAFE_INTEGER),
  GIT_TIMEOUT_MS: intFrom(1000, 3600 * 1000),
  GIT_CREDENTIALS: z.string().optional(),
  MAX_CONCURRENT_GIT_OPS: intFrom(1, 1000),
  DIFF_MAX_BYTES: intFrom(1024, 1024 * 1024 * 1024),
  E2B_API_KEY: z.string().optional(),
  E2B_TEMPLATE: z.string().min(1),
  E2B_DOMAIN: z.string().optional(),
  E2B_API_URL: z.string().url().optional(),
  E2B_SANDBOX_URL: z.string().url().optional(),
  E2B_CLAUDE_COMMAND: z.string().min(1),
  E2B_WORKDIR: z.string().regex(/^\/[^\0]*$/, 'must be an absolute path'),
  E2B_TIMEOUT_MS: intFrom(60_000, 24 * 3600 * 1000),
  CCO_HOME: z.string().min(1),
  CCO_SPOOL_DIR: z.string().min(1).optional(),
  CCO_HOOK_URL: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }).optional(),
  CLAUDE_CONFIG_DIR: z.string().min(1),
  MAX_CONCURRENT_RUNS: z.union([z.literal('auto'), intFrom(1, 1000)]),
  TURN_TIMEOUT_S: intFrom(1, 7 * 24 * 3600),
  TURN_STALL_WARN_S: intFrom(0, 7 * 24 * 3600),
  DEFAULT_PERMISSION_MODE: z.enum(PERMISSION_MODES),
  CLAUDE_PATH: z.string().min(1).optional(),
  CLAUDE_ENV_FILE: z.string().min(1).optional(),
  ALLOW_DANGEROUS_MODES: z.stringbool(),
  ISOLATION: z.enum(ISOLATION_SETTINGS),
  ALLOW_PROJECT_SETTINGS: z.stringbool(),
  ALLOW_PRIVATE_GIT_HOSTS: z.string().optional(),
  REDACT_PATTERNS: z.string().optional(),
  REDACT_DISABLE: z.string().optional(),
  SSE_REPLAY_MAX_EVENTS: intFrom(1, 1_000_000),
  SSE_REPLAY_MAX_BYTES: intFrom(64 * 1024, 1024 * 1024 * 1024),
  SSE_EVENT_MAX_BYTES: intFrom(1024, 64 * 1024 * 1024),
  SSE_MAX_STREAMS: intFrom(1, 100_000),
  SSE_SLOW_CLIENT_TIMEOUT_MS: intFrom(100, 3600 * 1000),
}).refine((c) => c.SSE_EVENT_MAX_BYTES <= c.SSE_REPLAY_MAX_BYTES, {
  path: ['SSE_EVENT_MAX_BYTES'],
  message: 'must not exceed SSE_REPLAY_MAX_BYTES (a referenced event must fit the replay buffer)',
});

export interface E2bConfig {
  /** Only ever passed to the E2B SDK; never logged or stored. */
  apiKey: string | undefined;
  template: string;
  domain: string | undefined;
  apiUrl: string | undefined;
  sandboxUrl: string | undefined;
  claudeCommand: string;
  workdir: string;
  timeoutMs: number;
}

export interface WorkspacesConfig {
  /** Real, absolute; everything the orchestrator makes or removes lives below it. */
  dir: string;
  /** Absolute; local folders and worktree base repos must lie strictly below one of these. */
  allowedRoots: string[];
  /** ALLOWED_ROOTS entries with {owner}: the part of the roots that is each user's own (admins may use every root). */
  ownerRoots?: string[] | undefined;
  /** The orchestrator's own folders besides dir (DATA_DIR, CCO_HOME, CLAUDE_CONFIG_DIR): no session folder may be, contain or lie in one. */
  protectedDirs: string[];
  cleanup: CleanupPolicy;
  git: {
    cloneDepth: number;
    cloneTimeoutMs: number;
    cloneMaxBytes: number;
    timeoutMs: number;
    credentials: GitCredential[];
    /** ALLOW_PRIVATE_GIT_HOSTS: host names, IPs or CIDRs remote URLs may reach although private; [] = none. */
    allowPrivateHosts?: string[] | undefined;
  };
  diffMaxBytes: number;
  /** Clones, fetches and diffs in flight at once (MAX_CONCURRENT_GIT_OPS). */
  maxConcurrentGitOps: number;
  e2b: E2bConfig;
}

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

/**
 * Every secret the server itself holds, so stored text can be redacted even when Claude Code never
 * had the value (a tool can still read the server's environment through /proc): the values of its
 * secret-looking variables, each GIT_CREDENTIALS token and the database password.
 */
function serverSecrets(env: Record<string, string | undefined>, credentials: readonly GitCredential[], databaseUrl: string | undefined): string[] {
  const out = new Set<string>();
  for (const [k, v] of Object.entries(env)) if (v !== undefined && SECRET_NAME.test(k) && v.length >= MIN_SECRET_LENGTH) out.add(v);
  for (const c of credentials) for (const f of c.secretForms()) if (f.length >= MIN_SECRET_LENGTH) out.add(f);
  if (databaseUrl) {
    try {
      const pw = decodeURIComponent(new URL(databaseUrl).password);
      if (pw.length >= MIN_SECRET_LENGTH) out.add(pw);
    } catch {
      // not a URL the parser takes: the whole value is still redacted by its name
    }
  }
  return [...out];
}

/** 4 turns per core (turns mostly wait on the model), but no more than memory allows at ~300 MB per Claude Code process. */
export function autoConcurrency(): number {
  const byCpu = 4 * os.availableParallelism();
  const byMemory = Math.floor(os.totalmem() / (300 * 1024 * 1024));
  return Math.max(1, Math.min(byCpu, byMemory));
}

export interface Config {
  http: {
    host: string; port: number; bodyLimitBytes: number; requestTimeoutMs: number; allowedHosts: string[]; corsOrigins: string[];
    /** Per minute; 0 = no limit (src/http/rate-limits.ts). */
    rateLimits: { perMin: number; hooksPerMin: number; authFailuresPerMin: number };
    hstsMaxAgeS: number;
    /** TRUST_PROXY: Fastify's trustProxy (addresses/CIDRs or a hop count); false: none. */
    trustProxy: string[] | number | false;
  };
  /** AUTH and where people reach the server (PUBLIC_URL, without a trailing slash). */
  auth: { mode: 'keys' | 'off'; publicUrl: string };
  db: { url: string | undefined; dataDir: string; poolMax: number };
  logLevel: z.infer<typeof schema>['LOG_LEVEL'];
  resultMaxBytes: number;
  workspaces: WorkspacesConfig;
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
  /** What is replaced by [redacted] in stored text and logs besides runner.secrets (src/lib/redact.ts). */
  redaction: RedactionConfig;
  /** The live event stream: replay buffer (EventBus) and open streams (GET /api/events). */
  live: {
    replay: { capacity: number; maxBytes: number; maxEventBytes: number };
    streams: { maxStreams: number; slowClientTimeoutMs: number };
  };
}

export interface RunnerConfig {
  workspacesDir: string;
  maxConcurrentRuns: number;
  turnTimeoutS: number;
  /** Seconds without progress before a running turn is reported as stalled; 0 or unset = never. */
  turnStallWarnS?: number;
  defaultPermissionMode: PermissionMode;
  claudePath: string | undefined;
  envFile: string | undefined;
  /** The subset of the server's environment handed to Claude Code. Never logged. */
  passEnv: Record<string, string>;
  /** ALLOW_DANGEROUS_MODES: bypassPermissions and IS_SANDBOX=1 are accepted. */
  allowDangerousModes?: boolean | undefined;
  /** ALLOW_PROJECT_SETTINGS: sessions asking trust_project_settings may load a cloned repo's .claude settings. */
  allowProjectSettings?: boolean | undefined;
  /** Every secret the server knows (its secret-looking variables, GIT_CREDENTIALS tokens, the database password): redacted from stored text. Never logged. */
  secrets?: string[] | undefined;
  /** ISOLATION; unset = auto. */
  isolation?: IsolationSetting | undefined;
  /** The server's folders an isolated turn must not see besides workspacesDir (DATA_DIR, CCO_HOME, the spool). */
  protectedDirs?: string[] | undefined;
}

export interface RedactionConfig {
  /** REDACT_PATTERNS, compiled. */
  patterns: RegExp[];
  /** REDACT_DISABLE: built-in patterns turned off. */
  disabled: RuleName[];
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
  if (c.DEFAULT_PERMISSION_MODE === 'bypassPermissions' && !c.ALLOW_DANGEROUS_MODES) {
    throw new ConfigError('Invalid configuration:\n  DEFAULT_PERMISSION_MODE: bypassPermissions runs every command without asking; set ALLOW_DANGEROUS_MODES=true to allow it (only inside a disposable sandbox)');
  }
  if (c.AUTH === 'off' && !isLoopbackHost(c.HOST)) {
    throw new ConfigError(`Invalid configuration:\n  AUTH: off lets anyone who reaches the port run commands on this host; it is allowed only when HOST is a loopback address (HOST is ${c.HOST})`);
  }
  const dataDir = path.resolve(expandHome(c.DATA_DIR));
  let credentials: GitCredential[];
  try {
    credentials = parseGitCredentials(c.GIT_CREDENTIALS);
  } catch (e: unknown) {
    throw new ConfigError(`Invalid configuration:\n  GIT_CREDENTIALS: ${(e as Error).message}`);
  }
  const redaction = parseRedaction(c.REDACT_PATTERNS, c.REDACT_DISABLE);
  const workspacesDir = c.WORKSPACES_DIR ? path.resolve(expandHome(c.WORKSPACES_DIR)) : path.join(dataDir, 'workspaces');
  return {
    http: {
      host: c.HOST,
      port: c.PORT,
      bodyLimitBytes: c.BODY_LIMIT_BYTES,
      requestTimeoutMs: c.REQUEST_TIMEOUT_MS,
      allowedHosts: splitList(c.ALLOWED_HOSTS),
      corsOrigins: splitList(c.CORS_ORIGINS),
      rateLimits: { perMin: c.RATE_LIMIT_PER_MIN, hooksPerMin: c.RATE_LIMIT_HOOKS_PER_MIN, authFailuresPerMin: c.AUTH_FAILURES_PER_MIN },
      hstsMaxAgeS: c.HSTS_MAX_AGE_S,
      trustProxy: parseTrustProxy(c.TRUST_PROXY),
    },
    auth: { mode: c.AUTH, publicUrl: (c.PUBLIC_URL ?? `http://localhost:${c.PORT}`).replace(/\/+$/, '') },
    db: { url: c.DATABASE_URL, dataDir, poolMax: c.DB_POOL_MAX },
    logLevel: c.LOG_LEVEL,
    resultMaxBytes: c.RESULT_MAX_BYTES,
    workspaces: {
      dir: workspacesDir,
      allowedRoots: splitRoots(c.ALLOWED_ROOTS).map(ownerRootBase),
      ownerRoots: splitRoots(c.ALLOWED_ROOTS).filter((r) => r.includes(OWNER)),
      protectedDirs: [
        dataDir,
        path.resolve(expandHome(c.CCO_HOME)),
        path.resolve(expandHome(c.CLAUDE_CONFIG_DIR)),
        ...(c.CCO_SPOOL_DIR ? [path.resolve(expandHome(c.CCO_SPOOL_DIR))] : []),
      ],
      cleanup: c.WORKSPACE_CLEANUP,
      git: {
        cloneDepth: c.GIT_CLONE_DEPTH,
        cloneTimeoutMs: c.GIT_CLONE_TIMEOUT_MS,
        cloneMaxBytes: c.GIT_CLONE_MAX_BYTES,
        timeoutMs: c.GIT_TIMEOUT_MS,
        credentials,
        allowPrivateHosts: (c.ALLOW_PRIVATE_GIT_HOSTS ?? '').split(',').map((h) => h.trim()).filter(Boolean),
      },
      diffMaxBytes: c.DIFF_MAX_BYTES,
      maxConcurrentGitOps: c.MAX_CONCURRENT_GIT_OPS,
      e2b: {
        apiKey: c.E2B_API_KEY,
        template: c.E2B_TEMPLATE,
        domain: c.E2B_DOMAIN,
        apiUrl: c.E2B_API_URL,
        sandboxUrl: c.E2B_SANDBOX_URL,
        claudeCommand: c.E2B_CLAUDE_COMMAND,
        workdir: c.E2B_WORKDIR,
        timeoutMs: c.E2B_TIMEOUT_MS,
      },
    },
    hooks: {
      home: path.resolve(expandHome(c.CCO_HOME)),
      claudeConfigDir: path.resolve(expandHome(c.CLAUDE_CONFIG_DIR)),
      envUrl: c.CCO_HOOK_URL?.replace(/\/+$/, ''),
      envSpoolDir: c.CCO_SPOOL_DIR ? path.resolve(expandHome(c.CCO_SPOOL_DIR)) : undefined,
      defaultUrl: `http://127.0.0.1:${c.PORT}`,
      defaultSpoolDir: path.resolve(expandHome(c.CCO_HOME), 'spool'),
    },
    runner: {
      workspacesDir,
      maxConcurrentRuns: c.MAX_CONCURRENT_RUNS === 'auto' ? autoConcurrency() : c.MAX_CONCURRENT_RUNS,
      turnTimeoutS: c.TURN_TIMEOUT_S,
      turnStallWarnS: c.TURN_STALL_WARN_S,
      defaultPermissionMode: c.DEFAULT_PERMISSION_MODE,
      claudePath: c.CLAUDE_PATH ? path.resolve(expandHome(c.CLAUDE_PATH)) : undefined,
      envFile: c.CLAUDE_ENV_FILE ? path.resolve(expandHome(c.CLAUDE_ENV_FILE)) : undefined,
      passEnv: passedEnv(env),
      allowDangerousModes: c.ALLOW_DANGEROUS_MODES,
      allowProjectSettings: c.ALLOW_PROJECT_SETTINGS,
      secrets: hiddenFromJson(serverSecrets(env, credentials, c.DATABASE_URL)),
      isolation: c.ISOLATION,
      protectedDirs: [dataDir, path.resolve(expandHome(c.CCO_HOME)), ...(c.CCO_SPOOL_DIR ? [path.resolve(expandHome(c.CCO_SPOOL_DIR))] : [])],
    },
    redaction,
    live: {
      replay: { capacity: c.SSE_REPLAY_MAX_EVENTS, maxBytes: c.SSE_REPLAY_MAX_BYTES, maxEventBytes: c.SSE_EVENT_MAX_BYTES },
      streams: { maxStreams: c.SSE_MAX_STREAMS, slowClientTimeoutMs: c.SSE_SLOW_CLIENT_TIMEOUT_MS },
    },
  };
}

function parseRedaction(patterns: string | undefined, disable: string | undefined): RedactionConfig {
  const out: RedactionConfig = { patterns: [], disabled: [] };
  try {
    out.patterns = parseRedactPatterns(patterns);
  } catch (e: unknown) {
    throw new ConfigError(`Invalid configuration:\n  REDACT_PATTERNS: ${(e as Error).message}`);
  }
  try {
    out.disabled = parseDisabledRules(disable);
  } catch (e: unknown) {
    throw new ConfigError(`Invalid configuration:\n  REDACT_DISABLE: ${(e as Error).message}`);
  }
  return out;
}

/** Workspace settings at their defaults on `dir` (for `cco doctor` and tests); ALLOWED_ROOTS as given. */
export function workspacesConfigFor(dir: string, allowedRoots: string[] = []): WorkspacesConfig {
  return loadConfig({ WORKSPACES_DIR: dir, ALLOWED_ROOTS: allowedRoots.join(',') }).workspaces;
}

/** ALLOWED_ROOTS: absolute folders separated by commas or colons; relative ones are refused (they would depend on the cwd). */
function splitList(value: string | undefined): string[] {
  return (value ?? '').split(',').map((v) => v.trim()).filter(Boolean);
}

const OWNER = '{owner}';

/** A root with {owner}, as the server's own check sees it: the folder holding every owner's folder. */
const ownerRootBase = (root: string) => (root.includes(OWNER) ? path.dirname(root.slice(0, root.indexOf(OWNER)) + 'x') : root);

function splitRoots(value: string | undefined): string[] {
  if (!value) return [];
  const roots = value.split(/[,:]/).map((s) => s.trim()).filter(Boolean).map(expandHome);
  const relative = roots.filter((r) => !path.isAbsolute(r));
  if (relative.length > 0) {
    throw new ConfigError(`Invalid configuration:\n  ALLOWED_ROOTS: every root must be an absolute path (got ${JSON.stringify(relative)})`);
  }
  return roots.map((r) => path.resolve(r));
}

/** TRUST_PROXY: a hop count, or proxy addresses and CIDRs (anything else would trust any client's claim). */
function parseTrustProxy(value: string | undefined): string[] | number | false {
  if (!value?.trim()) return false;
  if (/^\d{1,2}$/.test(value.trim())) return Number(value.trim());
  const entries = splitList(value);
  const bad = entries.filter((e) => {
    const [ip, bits, extra] = e.split('/');
    const v = net.isIP(ip ?? '');
    return v === 0 || extra !== undefined || (bits !== undefined && !(/^\d{1,3}$/.test(bits) && Number(bits) <= (v === 4 ? 32 : 128)));
  });
  if (bad.length) throw new ConfigError(`Invalid configuration:\n  TRUST_PROXY: expected proxy addresses or CIDRs (e.g. 10.0.0.0/8) or a hop count, got ${JSON.stringify(bad)}`);
  return entries;
}

/** 127.0.0.0/8, ::1 and localhost: only this machine can connect. */
export function isLoopbackHost(host: string): boolean {
  const h = host.trim().toLowerCase().replace(/^\[|\]$/g, '');
  return h === 'localhost' || h === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

function expandHome(p: string): string {
  return p === '~' || p.startsWith('~/') ? path.join(os.homedir(), p.slice(1)) : p;
}

/** The settings table shown by `cco --help`. */
export function describeSettings(): string {
  const defs = SETTINGS as readonly SettingDef[];
  // Columns as wide as the longest name and default, so every meaning starts in the same column.
  const nameWidth = Math.max(...defs.map((s) => s.env.length));
  const defaultWidth = Math.max(...defs.map((s) => (s.default ?? '(unset)').length));
  const row = (name: string, def: string, meaning: string) => `  ${name.padEnd(nameWidth)}  ${def.padEnd(defaultWidth)}  ${meaning}`;
  return ['Settings (environment variables):', row('NAME', 'DEFAULT', 'MEANING'), ...defs.map((s) => row(s.env, s.default ?? '(unset)', s.description))].join('\n');
}
