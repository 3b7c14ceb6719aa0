/** `cco hooks status` and `cco hooks flush`. */
import { Command, InvalidArgumentError } from 'commander';
import path from 'node:path';
import { loadConfig } from '../../config.ts';
import { readSettings, settingsPath } from '../../hooks/installer.ts';
import { findForwarder } from '../../hooks/settings-merge.ts';
import { flushSpool, inspectSpool, requeueDead, type SpoolState } from '../../hooks/spool.ts';
import { HOOK_EVENTS } from '../../hooks/events.ts';
import { parseUrl, resolveDir } from './hooks-args.ts';

/** Health of the server: "ok (version)" or why not. */
export async function probeServer(url: string): Promise<{ ok: boolean; detail: string }> {
  try {
    const res = await fetch(`${url}/api/health`, { signal: AbortSignal.timeout(2000) });
    const body = (await res.json().catch(() => ({}))) as { version?: string };
    return res.ok ? { ok: true, detail: `answers (version ${body.version ?? '?'})` } : { ok: false, detail: `answers HTTP ${res.status}` };
  } catch (e: unknown) {
    return { ok: false, detail: `does not answer (${(e as Error).cause instanceof Error ? ((e as Error).cause as Error).message : (e as Error).message})` };
  }
}

/** The forwarder installed for the current folder's project, else for the user; unreadable files count as none. */
function installedForwarder(claudeConfigDir: string) {
  for (const file of [settingsPath({ project: process.cwd() }, claudeConfigDir), settingsPath({}, claudeConfigDir)]) {
    try {
      const found = findForwarder(readSettings(file).settings)[0];
      if (found) return found;
    } catch {
      // A broken settings file is reported by `status`; flush just falls back.
    }
  }
  return undefined;
}

const seconds = (ms: number) => `${Math.round(ms / 1000)} s`;

function describeSpool(s: SpoolState): string {
  const age = s.oldestAgeMs !== undefined ? `, oldest ${seconds(s.oldestAgeMs)} old` : '';
  const failing = s.headFailing ? ` (failed so far: ${s.headFailing.replace(/^(\d+) (.*)$/, '$2, $1 tries')})` : '';
  const dead = s.newestDead ? ` (newest ${s.newestDead.id}, ${seconds(s.newestDead.ageMs)} ago: ${s.newestDead.reason})` : '';
  const worker = s.workerPid ? `, delivery worker running (pid ${s.workerPid})` : '';
  return `${s.queued} queued${age}${failing}, ${s.dead} dead-lettered${dead}${worker}`;
}

export function hooksStatusCommand(): Command {
  return new Command('status')
    .description('Show where the orchestrator hooks are installed, the spool, and whether the server answers.')
    .option('--project <dir>', 'project folder to inspect besides the user settings (default: the current folder)')
    .action(async (opts: { project?: string }) => {
      const config = loadConfig();
      const lines: string[] = [];
      const urls = new Set<string>();
      const spools = new Set<string>();
      const commands: Array<Set<string>> = [];
      for (const [label, file] of [
        ['user', settingsPath({}, config.hooks.claudeConfigDir)],
        ['project', settingsPath({ project: opts.project ?? process.cwd() }, config.hooks.claudeConfigDir)],
      ] as const) {
        let found;
        try {
          found = findForwarder(readSettings(file).settings);
        } catch (e: unknown) {
          lines.push(`${label}: ${file}: ${(e as Error).message}`);
          continue;
        }
        const events = new Set(found.map((f) => f.event));
        const missing = HOOK_EVENTS.filter((e) => !events.has(e));
        lines.push(`${label}: ${file}: ${found.length ? `${events.size}/${HOOK_EVENTS.length} events${missing.length ? ` (missing: ${missing.join(', ')})` : ''}` : 'not installed'}`);
        if (found.length) commands.push(new Set(found.map((f) => f.command)));
        for (const f of found) {
          if (f.url) urls.add(f.url);
          if (f.spoolDir) spools.add(f.spoolDir);
        }
      }
      // Two different commands both run for every event, each with its own event id, so non-tool events are stored twice.
      const [a, b] = commands;
      if (a && b && (a.size !== b.size || [...a].some((c) => !b.has(c)))) {
        lines.push('warning: installed for the user and for the project with different commands: both run, so events other than tool calls are stored twice; keep one (cco hooks uninstall --user or --project)');
      }
      if (config.hooks.envUrl) urls.add(config.hooks.envUrl);
      if (config.hooks.envSpoolDir) spools.add(config.hooks.envSpoolDir);
      if (urls.size === 0) urls.add(config.hooks.defaultUrl);
      if (spools.size === 0) spools.add(config.hooks.defaultSpoolDir);
      for (const s of spools) lines.push(`spool: ${s}: ${describeSpool(inspectSpool(s))}`);
      for (const u of urls) {
        const p = await probeServer(u);
        lines.push(`server: ${u}: ${p.detail}`);
      }
      process.stdout.write(`${lines.join('\n')}\n`);
    });
}

export function hooksFlushCommand(): Command {
  return new Command('flush')
    .description('Deliver queued hook events now, in order; exits 1 if some are still queued (for the end of a CI job).')
    .option('--url <url>', 'server URL (default CCO_HOOK_URL or http://127.0.0.1:PORT)', parseUrl)
    .option('--spool <dir>', 'spool folder (default CCO_SPOOL_DIR or CCO_HOME/spool)')
    .option('--retry-dead', 'first put dead-lettered events back in the queue (after the cause is fixed)')
    .option('--wait <seconds>', 'keep retrying while the server is down, up to this long', (v) => {
      const n = Number(v);
      if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError('must be a number of seconds');
      return n;
    }, 0)
    .action(async (opts: { url?: string; spool?: string; wait: number; retryDead?: boolean }) => {
      const config = loadConfig();
      // Without flags: the environment, else what the hooks of this project (or the user) were installed with.
      const installed = installedForwarder(config.hooks.claudeConfigDir);
      const spoolDir = opts.spool ? resolveDir(opts.spool) : (config.hooks.envSpoolDir ?? installed?.spoolDir ?? config.hooks.defaultSpoolDir);
      const url = opts.url ?? config.hooks.envUrl ?? installed?.url ?? config.hooks.defaultUrl;
      const requeued = opts.retryDead ? requeueDead(spoolDir) : 0;
      const before = inspectSpool(spoolDir);
      const after = await flushSpool({ url, spoolDir, waitMs: opts.wait * 1000 });
      // Dead letters made by this flush left the queue without being delivered.
      const delivered = Math.max(0, before.queued - after.queued - Math.max(0, after.dead - before.dead));
      if (requeued) process.stdout.write(`${requeued} dead-lettered event(s) put back in the queue\n`);
      process.stdout.write(`${path.resolve(spoolDir)}: ${delivered} delivered to ${url}; ${describeSpool(after)}\n`);
      if (after.queued > 0) process.exitCode = 1;
    });
}
