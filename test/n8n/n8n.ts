/**
 * A throwaway n8n: its own user folder (SQLite database, installed community package), the CLI
 * for import and publish, and `n8n start` headless on a free port. Environment as measured in the
 * n8n notes: no telemetry or update checks, optional modules off (community packages stay on).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { DatabaseSync } from 'node:sqlite';

const LEAN_MODULES_OFF = [
  'agents', 'agent-evals', 'insights', 'external-secrets', 'data-table', 'oauth-server', 'mcp', 'provisioning',
  'breaking-changes', 'source-control', 'dynamic-credentials', 'chat-hub', 'sso-oidc', 'sso-saml', 'log-streaming',
  'ldap', 'quick-connect', 'workflow-builder', 'favorites', 'redaction', 'instance-registry', 'instance-ai',
  'mcp-registry', 'otel', 'token-exchange', 'instance-version-history', 'oauth-jwe', 'runtime-credentials',
  'n8n-packages', 'workflow-reviews', 'instance-reporting',
];

export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise((r) => server.close(r));
  return port;
}

export class N8n {
  readonly url: string;
  private child: ChildProcess | undefined;
  private out = '';

  constructor(
    private readonly bin: string,
    readonly userFolder: string,
    readonly port: number,
    private readonly opts: { brokerPort: number; ui?: boolean },
  ) {
    this.url = `http://127.0.0.1:${port}`;
  }

  env(): NodeJS.ProcessEnv {
    return {
      PATH: process.env.PATH,
      HOME: this.userFolder,
      N8N_USER_FOLDER: this.userFolder,
      N8N_PORT: String(this.port),
      N8N_LISTEN_ADDRESS: '127.0.0.1',
      N8N_HOST: '127.0.0.1',
      N8N_PROTOCOL: 'http',
      WEBHOOK_URL: `${this.url}/`,
      N8N_ENCRYPTION_KEY: 'cco-n8n-test-only-not-secret',
      N8N_DIAGNOSTICS_ENABLED: 'false',
      N8N_DIAGNOSTICS_CONFIG_FRONTEND: '',
      N8N_DIAGNOSTICS_CONFIG_BACKEND: '',
      N8N_VERSION_NOTIFICATIONS_ENABLED: 'false',
      N8N_VERSION_NOTIFICATIONS_WHATS_NEW_ENABLED: 'false',
      N8N_TEMPLATES_ENABLED: 'false',
      N8N_PERSONALIZATION_ENABLED: 'false',
      N8N_HIRING_BANNER_ENABLED: 'false',
      N8N_DYNAMIC_BANNERS_ENABLED: 'false',
      N8N_AI_ENABLED: 'false',
      N8N_LICENSE_AUTO_RENEW_ENABLED: 'false',
      EXTERNAL_FRONTEND_HOOKS_URLS: '',
      N8N_SECURE_COOKIE: 'false',
      N8N_ENFORCE_SETTINGS_FILE_PERMISSIONS: 'true',
      N8N_DISABLED_MODULES: LEAN_MODULES_OFF.join(','),
      N8N_DISABLE_UI: this.opts.ui ? 'false' : 'true',
      N8N_RUNNERS_BROKER_PORT: String(this.opts.brokerPort),
      // Executions in flight (a Slack reply that cannot reach Slack) must not hold the stop for 30 s.
      N8N_GRACEFUL_SHUTDOWN_TIMEOUT: '3',
      N8N_LOG_LEVEL: 'info',
    };
  }

  /** One CLI command (import, publish); each costs about 3 s of Node start-up. */
  cli(...args: string[]): string {
    const r = spawnSync(process.execPath, [this.bin, ...args], { env: this.env(), encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 });
    if (r.status !== 0) throw new Error(`n8n ${args.join(' ')} exited with ${r.status ?? r.signal}:\n${r.stdout}\n${r.stderr}`);
    return r.stdout + r.stderr;
  }

  start(): void {
    this.child = spawn(process.execPath, [this.bin, 'start'], { env: this.env(), stdio: ['ignore', 'pipe', 'pipe'] });
    const keep = (d: Buffer) => {
      this.out = (this.out + d.toString()).slice(-200_000);
    };
    this.child.stdout!.on('data', keep);
    this.child.stderr!.on('data', keep);
  }

  output(): string {
    return this.out;
  }

  alive(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** SIGTERM stops n8n and its task-runner child; SIGKILL if it has not gone in 15 s. */
  async stop(): Promise<void> {
    const child = this.child;
    if (!child || !this.alive()) return;
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    await exited;
    clearTimeout(timer);
  }

  private db(): DatabaseSync {
    return new DatabaseSync(path.join(this.userFolder, '.n8n', 'database.sqlite'), { readOnly: true });
  }

  /** The node's static data of a workflow (where the trigger node keeps its subscription). */
  staticData(workflowId: string): Record<string, Record<string, unknown>> {
    const db = this.db();
    try {
      const row = db.prepare('select staticData from workflow_entity where id = ?').get(workflowId) as { staticData: string | null } | undefined;
      return row?.staticData ? (JSON.parse(row.staticData) as Record<string, Record<string, unknown>>) : {};
    } finally {
      db.close();
    }
  }

  /** Finished executions of a workflow, with their stored data (n8n's "flatted" JSON, searched as text). */
  executions(workflowId: string): { id: string; status: string; data: string }[] {
    if (!fs.existsSync(path.join(this.userFolder, '.n8n', 'database.sqlite'))) return [];
    const db = this.db();
    try {
      return db
        .prepare("select e.id as id, e.status as status, d.data as data from execution_entity e join execution_data d on d.executionId = e.id where e.workflowId = ? and e.status in ('success', 'error', 'crashed')")
        .all(workflowId) as { id: string; status: string; data: string }[];
    } finally {
      db.close();
    }
  }
}
