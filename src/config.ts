/**
 * The only reader of process.env: checks the settings (declared, with their
 * defaults and meanings, in src/settings.ts) and builds the Config every part
 * is given.
 */
import os from 'node:os';
import path from 'node:path';
import type { z } from 'zod';
import { parseDisabledRules, parseRedactPatterns, type RuleName } from './lib/redact.ts';
import { hiddenFromJson, MIN_SECRET_LENGTH, SECRET_NAME } from './lib/secrets.ts';
import { parseGitCredentials, type GitCredential } from './workspaces/credentials.ts';
import type { CleanupPolicy } from './workspaces/port.ts';
import type { PermissionMode } from './runner/options.ts';
import type { BudgetsConfig } from './budgets/budgets.ts';
import type { IsolationSetting } from './runner/isolation.ts';
import { slackConfigFrom, type SlackConfig } from './slack/config.ts';
import { webhooksConfigFrom, type WebhooksConfig } from './webhooks/config.ts';
import { metricsConfigFrom, type MetricsConfig } from './metrics/config.ts';
import { approvalsConfigFrom, type ApprovalsConfig } from './approvals/config.ts';
import { ConfigError, expandHome, isLoopbackHost, OWNER, ownerRootBase, parseTrustProxy, SETTINGS, settingsSchema, splitList, splitRoots, type SettingDef } from './settings.ts';

export { ConfigError, describeSettings, isLoopbackHost, SETTINGS } from './settings.ts';


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
    /** WAIT_MAX_S: the longest `wait` a request may ask for (src/http/run-wait.ts). */
    waitMaxS: number;
    /** Per minute; 0 = no limit (src/http/rate-limits.ts). */
    rateLimits: { perMin: number; hooksPerMin: number; authFailuresPerMin: number };
    hstsMaxAgeS: number;
    /** TRUST_PROXY: Fastify's trustProxy (addresses/CIDRs or a hop count); false: none. */
    trustProxy: string[] | number | false;
  };
  /** AUTH and where people reach the server (PUBLIC_URL, without a trailing slash). */
  auth: { mode: 'keys' | 'off'; publicUrl: string };
  /** SECRETS_KEY (src/lib/secret-box.ts); unset: DATA_DIR/secrets.key. */
  secretsKey: string | undefined;
  /** Unset: no Slack app (SLACK_BOT_TOKEN unset). */
  slack: SlackConfig | undefined;
  /** Outgoing webhooks (always on where HTTP is served). */
  webhooks: WebhooksConfig;
  /** SCHEDULE_TICK_S and SCHEDULE_MISSED_GRACE_S (src/schedules/scheduler.ts). */
  schedules: { tickS: number; missedGraceS: number };
  /** GET /metrics: METRICS_TOKEN, METRICS_PORT, METRICS_HOST (src/metrics). */
  metrics: MetricsConfig;
  /** Approval policy and timings (APPROVAL_*). */
  approvals: ApprovalsConfig;
  db: { url: string | undefined; dataDir: string; poolMax: number; prepared: boolean };
  /** ROLE (`cco serve --role`) and DRAIN_TIMEOUT_S. */
  process: { role: 'all' | 'api' | 'runner'; drainTimeoutS: number };
  logLevel: z.infer<typeof settingsSchema>['LOG_LEVEL'];
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
    /** LIVE_EVENTS_RETENTION_S: how long live_events rows are kept (s). */
    retentionS: number;
  };
}

export interface RunnerConfig {
  workspacesDir: string;
  maxConcurrentRuns: number;
  turnTimeoutS: number;
  /** Seconds without progress before a running turn is reported as stalled; 0 or unset = never. */
  turnStallWarnS?: number;
  /** CLAUDE_NICE: the nice value of Claude Code processes (0 = the server's own priority). */
  claudeNice?: number | undefined;
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
  /** BUDGET_OWNER_DAY_USD and BUDGET_SCHEDULE_RUN_USD (src/budgets/budgets.ts). */
  budgets?: BudgetsConfig | undefined;
}

export interface RedactionConfig {
  /** REDACT_PATTERNS, compiled. */
  patterns: RegExp[];
  /** REDACT_DISABLE: built-in patterns turned off. */
  disabled: RuleName[];
}


/** Parses settings from an env-like record; unset or empty values take the default. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const raw: Record<string, string | undefined> = {};
  for (const s of SETTINGS as readonly SettingDef[]) {
    const v = env[s.env];
    raw[s.env] = v === undefined || v === '' ? s.default : v;
  }
  const parsed = settingsSchema.safeParse(raw);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message} (got ${JSON.stringify(raw[String(i.path[0])])})`);
    throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}\nRun \`cco --help\` for every setting.`);
  }
  const c = parsed.data;
  if (c.ROLE !== 'all' && !c.DATABASE_URL) {
    // The embedded database lives inside one process; roles that share work need a shared server.
    throw new ConfigError(`Invalid configuration:\n  ROLE: ${c.ROLE} runs beside other processes and needs DATABASE_URL (a PostgreSQL server they all reach); the embedded database is for ROLE=all only.`);
  }
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
  const publicUrl = (c.PUBLIC_URL ?? `http://localhost:${c.PORT}`).replace(/\/+$/, '');
  const workspacesDir = c.WORKSPACES_DIR ? path.resolve(expandHome(c.WORKSPACES_DIR)) : path.join(dataDir, 'workspaces');
  return {
    http: {
      host: c.HOST,
      port: c.PORT,
      bodyLimitBytes: c.BODY_LIMIT_BYTES,
      requestTimeoutMs: c.REQUEST_TIMEOUT_MS,
      waitMaxS: c.WAIT_MAX_S,
      allowedHosts: splitList(c.ALLOWED_HOSTS),
      corsOrigins: splitList(c.CORS_ORIGINS),
      rateLimits: { perMin: c.RATE_LIMIT_PER_MIN, hooksPerMin: c.RATE_LIMIT_HOOKS_PER_MIN, authFailuresPerMin: c.AUTH_FAILURES_PER_MIN },
      hstsMaxAgeS: c.HSTS_MAX_AGE_S,
      trustProxy: parseTrustProxy(c.TRUST_PROXY),
    },
    auth: { mode: c.AUTH, publicUrl },
    secretsKey: c.SECRETS_KEY,
    slack: slackConfigFrom(c, publicUrl),
    webhooks: webhooksConfigFrom(c, publicUrl),
    schedules: { tickS: c.SCHEDULE_TICK_S, missedGraceS: c.SCHEDULE_MISSED_GRACE_S },
    metrics: metricsConfigFrom(c),
    approvals: approvalsConfigFrom(c),
    db: { url: c.DATABASE_URL, dataDir, poolMax: c.DB_POOL_MAX, prepared: c.DB_PREPARED_STATEMENTS },
    process: { role: c.ROLE, drainTimeoutS: c.DRAIN_TIMEOUT_S },
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
      claudeNice: c.CLAUDE_NICE,
      defaultPermissionMode: c.DEFAULT_PERMISSION_MODE,
      claudePath: c.CLAUDE_PATH ? path.resolve(expandHome(c.CLAUDE_PATH)) : undefined,
      envFile: c.CLAUDE_ENV_FILE ? path.resolve(expandHome(c.CLAUDE_ENV_FILE)) : undefined,
      passEnv: passedEnv(env),
      allowDangerousModes: c.ALLOW_DANGEROUS_MODES,
      allowProjectSettings: c.ALLOW_PROJECT_SETTINGS,
      secrets: hiddenFromJson(serverSecrets(env, credentials, c.DATABASE_URL)),
      isolation: c.ISOLATION,
      protectedDirs: [dataDir, path.resolve(expandHome(c.CCO_HOME)), ...(c.CCO_SPOOL_DIR ? [path.resolve(expandHome(c.CCO_SPOOL_DIR))] : [])],
      budgets: { ownerDayUsd: c.BUDGET_OWNER_DAY_USD, scheduleRunUsd: c.BUDGET_SCHEDULE_RUN_USD },
    },
    redaction,
    live: {
      replay: { capacity: c.SSE_REPLAY_MAX_EVENTS, maxBytes: c.SSE_REPLAY_MAX_BYTES, maxEventBytes: c.SSE_EVENT_MAX_BYTES },
      streams: { maxStreams: c.SSE_MAX_STREAMS, slowClientTimeoutMs: c.SSE_SLOW_CLIENT_TIMEOUT_MS },
      retentionS: c.LIVE_EVENTS_RETENTION_S,
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
