/**
 * `e2b`: the workspace is a folder inside an E2B sandbox, and Claude Code runs
 * there (spawner), its stream-json flowing back to the runner as from a local
 * process. The repository is cloned on the host (so GIT_CREDENTIALS never enter
 * the sandbox), packed with tar, uploaded and unpacked in the sandbox. On
 * release the policy decides what comes back before the sandbox is killed: keep
 * unpacks the sandbox folder into WORKSPACES_DIR/e2b/<id>, archive stores its
 * tar.gz in WORKSPACES_DIR/archives, delete brings nothing back.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Sandbox } from 'e2b';
import { AppError, badRequest } from '../lib/errors.ts';
import { headCommit, type GitHost } from './changes.ts';
import { checkRepoUrl, cloneInto } from './clone.ts';
import { SandboxProcess } from './e2b-process.ts';
import { shellLine, shellQuote } from './e2b-shell.ts';
import { GitError, redactSecrets } from './git.ts';
import { FIXED_OVERRIDES, withConfigEntries } from './git-config-guard.ts';
import { makeUniqueDir, removeInside, resolveWorkspaceInput } from './paths.ts';
import type { ClaudeSpawner, CleanupPolicy, WorkspaceRecord, WorkspaceRequest } from './port.ts';
import { folderName, str, type Provider, type ProviderContext, type ReleaseOutcome } from './provider.ts';
import { validateRef } from './validate.ts';

const exec = promisify(execFile);

export class E2bProvider implements Provider {
  private readonly live = new Map<string, Sandbox>();

  constructor(private readonly ctx: ProviderContext) {}

  private get opts() {
    const e = this.ctx.config.e2b;
    return {
      apiKey: e.apiKey,
      ...(e.domain ? { domain: e.domain } : {}),
      ...(e.apiUrl ? { apiUrl: e.apiUrl } : {}),
      ...(e.sandboxUrl ? { sandboxUrl: e.sandboxUrl } : {}),
      requestTimeoutMs: this.ctx.config.git.timeoutMs,
    };
  }

  /** The sandbox of a record: the live object, or a reconnection (after a restart). */
  private async sandbox(record: WorkspaceRecord): Promise<Sandbox> {
    const id = str(record, 'sandbox_id');
    if (!id) throw badRequest('invalid_workspace', 'e2b workspace record has no sandbox_id');
    const known = this.live.get(id);
    if (known) return known;
    const sb = await Sandbox.connect(id, this.opts);
    this.live.set(id, sb);
    return sb;
  }

  private async run(sb: Sandbox, argv: string[], opts: { cwd?: string; envs?: Record<string, string> } = {}): Promise<string> {
    try {
      const r = await sb.commands.run(shellLine(argv), { ...opts, timeoutMs: this.ctx.config.git.cloneTimeoutMs });
      return r.stdout;
    } catch (e: unknown) {
      const x = e as { exitCode?: number; stderr?: string; message?: string };
      throw new GitError('sandbox_command_failed', `sandbox command ${argv[0]} failed: ${(x.stderr ?? x.message ?? '').slice(-300)}`, x.exitCode ?? null, x.stderr ?? '');
    }
  }

  async prepare(req: WorkspaceRequest, cleanup: CleanupPolicy): Promise<WorkspaceRecord> {
    const { config } = this.ctx;
    if (!config.e2b.apiKey) throw badRequest('e2b_not_configured', 'project_type e2b needs E2B_API_KEY on the server');
    const ref = req.ref === undefined ? undefined : validateRef(req.ref);
    const repo = req.repo_url === undefined ? undefined : checkRepoUrl(req.repo_url, config);
    const source = req.project_path === undefined ? undefined : resolveWorkspaceInput(req.project_path, config);
    const name = folderName(req.sessionId);
    const staging = makeUniqueDir(config.dir, 'e2b', name);
    const tarball = path.join(os.tmpdir(), `cco-e2b-${name}-${process.pid}.tar.gz`);
    let sb: Sandbox | undefined;
    try {
      if (repo) await cloneInto(config, staging, repo.url, ref);
      await exec('tar', ['-czf', tarball, '-C', source ?? staging, '--', '.'], { timeout: config.git.cloneTimeoutMs });
      sb = await Sandbox.create(config.e2b.template, { ...this.opts, timeoutMs: config.e2b.timeoutMs, metadata: { cco_session_id: req.sessionId } }).catch((e: unknown) => {
        const msg = redactSecrets((e as Error).message ?? String(e)).split(config.e2b.apiKey ?? '\0').join('***');
        throw new AppError('e2b_unavailable', `could not create an E2B sandbox: ${msg.slice(0, 300)}`, 502, { cause: e });
      });
      this.live.set(sb.sandboxId, sb);
      const workdir = path.posix.join(config.e2b.workdir, name);
      const remoteTar = `/tmp/cco-${name}.tar.gz`;
      const packed = fs.readFileSync(tarball);
      const body = packed.buffer.slice(packed.byteOffset, packed.byteOffset + packed.byteLength) as ArrayBuffer;
      await sb.files.write(remoteTar, body, { useOctetStream: true });
      await sb.commands.run(`mkdir -p -- ${shellQuote(workdir)} && tar -xzf ${shellQuote(remoteTar)} -C ${shellQuote(workdir)} && rm -f -- ${shellQuote(remoteTar)}`, {
        timeoutMs: config.git.cloneTimeoutMs,
      });
      const host = this.host(sb, workdir);
      const base = await headCommit(host.git);
      const branch = base ? (await host.git(['rev-parse', '--abbrev-ref', 'HEAD'])).trim() : null;
      return {
        kind: 'e2b',
        path: workdir,
        cleanup,
        owned: true,
        sandbox_id: sb.sandboxId,
        template: config.e2b.template,
        repo_url: repo?.url ?? null,
        ref: ref ?? null,
        branch: branch === 'HEAD' ? null : branch,
        base_commit: base,
        created_at: new Date().toISOString(),
      };
    } catch (e: unknown) {
      if (sb) await sb.kill().catch(() => {});
      throw e;
    } finally {
      fs.rmSync(tarball, { force: true });
      // The sandbox holds the working copy now; the staging clone would only go stale.
      await removeInside(config.dir, staging).catch(() => {});
    }
  }

  private host(sb: Sandbox, workdir: string): GitHost {
    return {
      // The fixed overrides only (hooks, fsmonitor, pager...): the sandbox holds none of the server's secrets.
      git: (args, opts = {}) => this.run(sb, ['git', ...args], { cwd: workdir, envs: withConfigEntries({ GIT_TERMINAL_PROMPT: '0', ...(opts.env ?? {}) }, FIXED_OVERRIDES) }),
      scratchIndex: async (index) => {
        const p = (await this.run(sb, ['mktemp'])).trim();
        await sb.commands.run(`if [ -f ${shellQuote(index)} ]; then cp -- ${shellQuote(index)} ${shellQuote(p)}; else rm -f -- ${shellQuote(p)}; fi`);
        return { path: p, dispose: async () => void (await this.run(sb, ['rm', '-f', '--', p]).catch(() => '')) };
      },
    };
  }

  /** A used session's sandbox gets its full lifetime again (E2B kills it E2B_TIMEOUT_MS after the last extension). */
  async touch(record: WorkspaceRecord): Promise<void> {
    await (await this.sandbox(record)).setTimeout(this.ctx.config.e2b.timeoutMs).catch(() => {});
  }

  async gitHost(record: WorkspaceRecord): Promise<GitHost | undefined> {
    try {
      const sb = await this.sandbox(record);
      if (!(await sb.isRunning())) {
        this.live.delete(sb.sandboxId);
        return undefined;
      }
      return this.host(sb, record.path);
    } catch {
      return undefined; // the sandbox is gone (killed, expired)
    }
  }

  async release(record: WorkspaceRecord, policy: CleanupPolicy): Promise<ReleaseOutcome> {
    const name = folderName(String(record.session_id ?? 'x'));
    // A copy kept by an earlier release (gc deletes it); the name holds no user text.
    const keptCopy = path.join(this.ctx.config.dir, 'e2b', name);
    let sb: Sandbox;
    try {
      sb = await this.sandbox(record);
    } catch {
      if (policy !== 'delete') return { action: 'missing' };
      return (await removeInside(this.ctx.config.dir, keptCopy)) ? { action: 'deleted' } : { action: 'missing' };
    }
    try {
      if (policy === 'delete') {
        await removeInside(this.ctx.config.dir, keptCopy);
        return { action: 'deleted' };
      }
      const bytes = await this.pack(sb, record.path);
      if (policy === 'archive') {
        const dir = path.join(this.ctx.config.dir, 'archives');
        fs.mkdirSync(dir, { recursive: true });
        const archive = path.join(dir, `e2b-${name}-${new Date().toISOString().replace(/[:.]/g, '-')}.tar.gz`);
        fs.writeFileSync(archive, bytes);
        return { action: 'archived', archive };
      }
      const target = makeUniqueDir(this.ctx.config.dir, 'e2b', name);
      const tmp = path.join(os.tmpdir(), `cco-e2b-back-${name}-${process.pid}.tar.gz`);
      try {
        fs.writeFileSync(tmp, bytes);
        await exec('tar', ['-xzf', tmp, '-C', target, '--no-same-owner'], { timeout: this.ctx.config.git.cloneTimeoutMs });
      } finally {
        fs.rmSync(tmp, { force: true });
      }
      return { action: 'kept', path: target };
    } finally {
      await sb.kill().catch(() => {});
      this.live.delete(sb.sandboxId);
    }
  }

  private async pack(sb: Sandbox, workdir: string): Promise<Uint8Array> {
    const remote = (await this.run(sb, ['mktemp', '--suffix=.tar.gz'])).trim();
    await this.run(sb, ['tar', '-czf', remote, '-C', workdir, '--', '.']);
    return sb.files.read(remote, { format: 'bytes' });
  }

  async diskUsage(record: WorkspaceRecord): Promise<number | undefined> {
    try {
      const out = await this.run(await this.sandbox(record), ['du', '-sb', '--', record.path]);
      const n = Number(out.split('\t')[0]);
      return Number.isFinite(n) ? n : undefined;
    } catch {
      return undefined;
    }
  }

  spawner(record: WorkspaceRecord): ClaudeSpawner {
    return (options) => new SandboxProcess(options, { sandbox: () => this.sandbox(record), claudeCommand: this.ctx.config.e2b.claudeCommand, cwd: record.path });
  }
}
