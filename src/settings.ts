/**
 * Every setting, declared once with its default and meaning (`cco --help` prints
 * this table, so docs cannot drift), the zod schema that checks them, and the
 * parsers of list-valued settings. src/config.ts turns them into the Config.
 */
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { ISOLATION_SETTINGS } from './runner/isolation.ts';
import { PERMISSION_MODES } from './runner/options.ts';
import { CLEANUP_POLICIES } from './workspaces/port.ts';

export class ConfigError extends Error {
  readonly code = 'invalid_config';
}

export interface SettingDef {
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
  { env: 'DB_PREPARED_STATEMENTS', default: 'true', description: 'Send the hot hook-ingest, live-event and search-indexer statements as named prepared statements (parsed and planned once per connection). Set false behind PgBouncer in transaction mode older than 1.21.' },
  { env: 'LOG_LEVEL', default: 'info', description: 'pino level: fatal, error, warn, info, debug, trace, silent.' },
  { env: 'BODY_LIMIT_BYTES', default: String(5 * 1024 * 1024), description: 'Largest accepted request body (bytes); larger gets 413.' },
  { env: 'REQUEST_TIMEOUT_MS', default: '60000', description: 'An API request not answered within this time gets 503 request_timeout (ms; 0 = none). Event streams are exempt.' },
  { env: 'WAIT_MAX_S', default: '600', description: 'Longest `wait` (seconds) a request may ask for to get a turn\'s answer (POST /api/sessions, POST /api/sessions/:id/messages, GET /api/sessions/:id/turns/:turn); waiting requests are exempt from REQUEST_TIMEOUT_MS for that long.' },
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
  { env: 'ROLE', default: 'all', description: 'What this process does: all (API, dashboard and runner: one machine), api (API, dashboard, hooks, live events; queues turns) or runner (runs queued turns; serves only GET /health). api and runner need DATABASE_URL. Same as `cco serve --role`.' },
  { env: 'DRAIN_TIMEOUT_S', default: '0', description: 'On SIGTERM, how long running turns may go on finishing before they are interrupted (a runner drained for an upgrade); 0 = interrupt at once. Turns not yet started go back to the queue.' },
  { env: 'MAX_CONCURRENT_RUNS', default: 'auto', description: 'Turns this process runs at once (per runner; `cco serve --concurrency`); auto = 4 per core, capped by memory (~300 MB each).' },
  { env: 'TURN_TIMEOUT_S', default: '1800', description: 'Default time limit of one turn (seconds); a session may set timeout_s.' },
  { env: 'CLAUDE_NICE', default: '10', description: 'CPU priority of the Claude Code processes turns start (niceness added to that of the server, 0-19; their tools inherit it): above 0 the API, hooks and dashboard stay responsive while turns use every core.' },
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
  { env: 'SSE_REPLAY_MAX_EVENTS', default: '2000', description: 'Live events kept in memory for replay to reconnecting clients (GET /api/events); older ones come from the database.' },
  { env: 'SSE_REPLAY_MAX_BYTES', default: String(16 * 1024 * 1024), description: 'Bytes of live events kept for replay; the oldest leave first.' },
  { env: 'SSE_EVENT_MAX_BYTES', default: String(64 * 1024), description: 'A live event larger than this is sent as a reference (`truncated`, `url`) the client fetches.' },
  { env: 'LIVE_EVENTS_RETENTION_S', default: '600', description: 'Live events are kept in the database this long (s) for clients resuming with Last-Event-ID, from any server process or after a restart; older gaps get `reset`.' },
  { env: 'SSE_MAX_STREAMS', default: '500', description: 'Open event streams at most; more get 503 with Retry-After.' },
  { env: 'SSE_SLOW_CLIENT_TIMEOUT_MS', default: '30000', description: 'An event stream whose client reads nothing for this long is dropped (ms); it reconnects and replays.' },
  { env: 'SECRETS_KEY', default: undefined, description: 'Key (32+ characters) that seals secrets the server must read back (webhook signing secrets) before they are stored. Unset: a random key made once in DATA_DIR/secrets.key. Several processes over one database need the same SECRETS_KEY.' },
  { env: 'SLACK_BOT_TOKEN', default: undefined, description: 'Slack bot token (xoxb-…): set it to turn the Slack app on (threads are sessions; see the README). Never stored or logged.' },
  { env: 'SLACK_SIGNING_SECRET', default: undefined, description: "The Slack app's signing secret: requests to POST /slack/events must carry its v0 signature, within 5 minutes. Needed unless SLACK_APP_TOKEN is set." },
  { env: 'SLACK_APP_TOKEN', default: undefined, description: 'App-level token (xapp-…, scope connections:write): Slack is reached over Socket Mode instead of POST /slack/events (no public URL needed).' },
  { env: 'SLACK_API_URL', default: 'https://slack.com/api/', description: "Slack Web API base URL (a test stand-in or a proxy)." },
  { env: 'SLACK_ALLOWED_TEAMS', default: undefined, description: 'Slack workspace ids (T…) the bot answers (comma separated). Once any SLACK_ALLOWED_* is set, what a set list does not name is refused; unset lists do not restrict.' },
  { env: 'SLACK_ALLOWED_CHANNELS', default: undefined, description: 'Channel ids (C…, D… for direct messages) the bot answers in (comma separated).' },
  { env: 'SLACK_ALLOWED_USERS', default: undefined, description: 'Slack user ids (U…) the bot answers (comma separated).' },
  { env: 'SLACK_USER_MAP', default: undefined, description: 'Slack users who act as an orchestrator key: U123=alice,U456=bob (key names). `cco slack map` adds more in the database, which win. Unmapped users act as user `slack:<user id>`.' },
  { env: 'WEBHOOK_ALLOW_PRIVATE_HOSTS', default: undefined, description: 'Host names, IP addresses or CIDRs (comma separated) webhook URLs may reach although they are loopback, private or link-local (a local n8n: localhost or 127.0.0.1). Unset: none.' },
  { env: 'WEBHOOK_TIMEOUT_MS', default: '10000', description: 'One webhook delivery attempt may take this long (ms), connection to answer; slower counts as failed and is retried.' },
  // Schedules and budgets (README "Schedules", "Budgets").
  { env: 'SCHEDULE_TICK_S', default: '15', description: 'How often each API process looks for due schedules (s); a run starts at most this late.' },
  { env: 'SCHEDULE_MISSED_GRACE_S', default: '300', description: "A schedule time older than this when first seen (the servers were down) was missed: the schedule's `missed` policy decides (skip, or run once)." },
  { env: 'BUDGET_OWNER_DAY_USD', default: undefined, description: "The most one owner's turns may cost per UTC day (USD); a turn passing it is stopped and its session paused. Unset: no limit." },
  { env: 'BUDGET_SCHEDULE_RUN_USD', default: undefined, description: "The budget of each scheduled run's session when its template gives no budget_usd (USD). Unset: none." },
  { env: 'METRICS_TOKEN', default: undefined, description: 'Bearer token (16+ characters) that reads GET /metrics and nothing else (for Prometheus). Admin and viewer keys read it too. Never logged.' },
  { env: 'METRICS_PORT', default: undefined, description: 'A port of its own that serves GET /metrics without a key (for a scraper inside a private network; every role, runners too). Unset: none.' },
  { env: 'METRICS_HOST', default: undefined, description: 'Interface METRICS_PORT listens on. Unset: HOST.' },
  { env: 'APPROVAL_POLICY', default: undefined, description: 'The server\'s approval policy as JSON: {"default":"allow|deny|ask","rules":[{"tool":"Bash","command":"git push*","action":"ask"}]} (README "Approvals"). Unset: every call allowed as the permission mode says.' },
  { env: 'APPROVAL_POLICY_FILE', default: undefined, description: 'A JSON file holding the server\'s approval policy (instead of APPROVAL_POLICY).' },
  { env: 'APPROVAL_WAIT_S', default: '30', description: 'How long a turn waits for a decision on an `ask` call before it stops (the decision then continues the session later).' },
  { env: 'APPROVAL_TIMEOUT_S', default: '86400', description: 'How long a request waits for a person before it takes the policy\'s timeout_action (default deny); a policy\'s timeout_s wins.' },
  { env: 'SLACK_FILE_THRESHOLD_CHARS', default: '12000', description: 'An answer longer than this is attached to the thread as a file (with its start as a message) instead of split into messages.' },
] as const satisfies readonly SettingDef[];

const intFrom = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

export const settingsSchema = z.object({
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
  DB_PREPARED_STATEMENTS: z.stringbool(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']),
  BODY_LIMIT_BYTES: intFrom(1024, 1024 * 1024 * 1024),
  REQUEST_TIMEOUT_MS: intFrom(0, 24 * 3600 * 1000),
  WAIT_MAX_S: intFrom(1, 24 * 3600),
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
  ROLE: z.enum(['all', 'api', 'runner']),
  DRAIN_TIMEOUT_S: intFrom(0, 24 * 3600),
  MAX_CONCURRENT_RUNS: z.union([z.literal('auto'), intFrom(1, 1000)]),
  TURN_TIMEOUT_S: intFrom(1, 7 * 24 * 3600),
  TURN_STALL_WARN_S: intFrom(0, 7 * 24 * 3600),
  CLAUDE_NICE: intFrom(0, 19),
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
  LIVE_EVENTS_RETENTION_S: intFrom(10, 7 * 24 * 3600),
  SSE_MAX_STREAMS: intFrom(1, 100_000),
  SSE_SLOW_CLIENT_TIMEOUT_MS: intFrom(100, 3600 * 1000),
  SECRETS_KEY: z.string().min(32, 'must be at least 32 characters').optional(),
  SLACK_BOT_TOKEN: z.string().regex(/^xoxb-/, 'must be a bot token (xoxb-…)').optional(),
  SLACK_SIGNING_SECRET: z.string().min(8).optional(),
  SLACK_APP_TOKEN: z.string().regex(/^xapp-/, 'must be an app-level token (xapp-…)').optional(),
  SLACK_API_URL: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }),
  SLACK_ALLOWED_TEAMS: z.string().optional(),
  SLACK_ALLOWED_CHANNELS: z.string().optional(),
  SLACK_ALLOWED_USERS: z.string().optional(),
  SLACK_USER_MAP: z.string().optional(),
  SLACK_FILE_THRESHOLD_CHARS: intFrom(3000, 1_000_000),
  WEBHOOK_ALLOW_PRIVATE_HOSTS: z.string().optional(),
  WEBHOOK_TIMEOUT_MS: intFrom(100, 10 * 60_000),
  SCHEDULE_TICK_S: intFrom(1, 3600),
  SCHEDULE_MISSED_GRACE_S: intFrom(1, 7 * 24 * 3600),
  BUDGET_OWNER_DAY_USD: z.coerce.number().positive().max(1_000_000).optional(),
  BUDGET_SCHEDULE_RUN_USD: z.coerce.number().positive().max(1_000_000).optional(),
  METRICS_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  METRICS_PORT: intFrom(0, 65535).optional(),
  METRICS_HOST: z.string().min(1).optional(),
  APPROVAL_POLICY: z.string().optional(),
  APPROVAL_POLICY_FILE: z.string().optional(),
  APPROVAL_WAIT_S: intFrom(1, 300),
  APPROVAL_TIMEOUT_S: intFrom(10, 30 * 86400),
}).refine((c) => c.SSE_EVENT_MAX_BYTES <= c.SSE_REPLAY_MAX_BYTES, {
  path: ['SSE_EVENT_MAX_BYTES'],
  message: 'must not exceed SSE_REPLAY_MAX_BYTES (a referenced event must fit the replay buffer)',
});

/** ALLOWED_ROOTS: absolute folders separated by commas or colons; relative ones are refused (they would depend on the cwd). */
export function splitList(value: string | undefined): string[] {
  return (value ?? '').split(',').map((v) => v.trim()).filter(Boolean);
}

export const OWNER = '{owner}';

/** A root with {owner}, as the server's own check sees it: the folder holding every owner's folder. */
export const ownerRootBase = (root: string) => (root.includes(OWNER) ? path.dirname(root.slice(0, root.indexOf(OWNER)) + 'x') : root);

export function splitRoots(value: string | undefined): string[] {
  if (!value) return [];
  const roots = value.split(/[,:]/).map((s) => s.trim()).filter(Boolean).map(expandHome);
  const relative = roots.filter((r) => !path.isAbsolute(r));
  if (relative.length > 0) {
    throw new ConfigError(`Invalid configuration:\n  ALLOWED_ROOTS: every root must be an absolute path (got ${JSON.stringify(relative)})`);
  }
  return roots.map((r) => path.resolve(r));
}

/** TRUST_PROXY: a hop count, or proxy addresses and CIDRs (anything else would trust any client's claim). */
export function parseTrustProxy(value: string | undefined): string[] | number | false {
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

export function expandHome(p: string): string {
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
