/** `cco hooks install|uninstall|status|flush`: capture Claude Code runs started anywhere. */
import { Command, Option } from 'commander';
import os from 'node:os';
import { cliActor, withAuth } from './keys.ts';
import { loadConfig } from '../../config.ts';
import { defaultHookTokenName, readHookToken, tokenFile, writeHookToken } from '../../hooks/hook-token.ts';
import { AppError } from '../../lib/errors.ts';
import { forwarderShell, installForwarder, installScript, readSettings, settingsPath, uninstallForwarder } from '../../hooks/installer.ts';
import { findForwarder } from '../../hooks/settings-merge.ts';
import { inspectSpool } from '../../hooks/spool.ts';
import { parseUrl, resolveDir } from './hooks-args.ts';
import { hooksFlushCommand, hooksStatusCommand } from './hooks-status.ts';

export interface TargetOptions {
  user?: boolean;
  project?: string;
}

export const targetOptions = (cmd: Command) =>
  cmd
    .addOption(new Option('--user', "Claude Code's user settings: $CLAUDE_CONFIG_DIR/settings.json, default ~/.claude/settings.json (the default)").conflicts('project'))
    .addOption(new Option('--project <dir>', 'the project settings DIR/.claude/settings.json').conflicts('user'));

/** Takes the given token, keeps an installed one, or makes a new hook key in the database. */
async function installToken(spoolDir: string, given: string | false | undefined, owner: string | undefined): Promise<string> {
  if (given === false) return 'Token: none (--no-token: the server must run with AUTH=off)';
  if (typeof given === 'string') return `Token: ${writeHookToken(spoolDir, given.trim())} (given)`;
  const installed = readHookToken(spoolDir);
  if (installed) return `Token: ${tokenFile(spoolDir)} (kept)`;
  const unreachable = (e: Error) =>
    new Error(`could not reach the database to make a hook token (${e.message}); run \`cco keys create --name NAME --role hook\` where the server runs and pass --token KEY`, { cause: e });
  return withAuth(async (auth, audit) => {
    const base = defaultHookTokenName();
    for (let n = 1; ; n++) {
      try {
        const { key, info } = await auth.createKey({ name: n === 1 ? base : `${base}-${n}`, role: 'hook', owner: owner ?? os.userInfo().username, createdBy: cliActor().name });
        audit.record({ actor: cliActor(), action: 'key.created', target: `key:${info.id}`, detail: { name: info.name, role: info.role, prefix: info.prefix, by: 'cco hooks install' } });
        return `Token: ${writeHookToken(spoolDir, key)} (new hook key "${info.name}", sessions owned by ${info.owner})`;
      } catch (e: unknown) {
        if (!(e instanceof AppError && e.code === 'key_name_taken') || n >= 20) throw e;
      }
    }
  }, unreachable);
}

export function hooksCommand(): Command {
  const hooks = new Command('hooks').description("Capture Claude Code runs started outside the orchestrator (by hand, CI, n8n) through Claude Code's hooks.");

  targetOptions(hooks.command('install'))
    .description('Add the orchestrator hooks for every captured event; running it again changes nothing, other settings are kept.')
    .option('--url <url>', 'orchestrator server URL (default CCO_HOOK_URL or http://127.0.0.1:PORT)', parseUrl)
    .option('--spool <dir>', 'spool folder for events waiting for delivery (default CCO_SPOOL_DIR or CCO_HOME/spool)')
    .option('--token <key>', 'the hook token to send (a key with role hook); default: the installed one, else a new one made in the database')
    .option('--no-token', 'send no token (a server with AUTH=off)')
    .option('--owner <name>', "whose sessions the captured runs become when a new token is made (default: your login name; use your key's name to see them as a user)")
    .action(async (opts: TargetOptions & { url?: string; spool?: string; token?: string | false; owner?: string }) => {
      const config = loadConfig();
      const file = settingsPath(opts, config.hooks.claudeConfigDir);
      // Re-running without --url/--spool keeps what is installed (checks the file is valid JSON first, too).
      const current = findForwarder(readSettings(file).settings)[0];
      const scriptPath = installScript(config.hooks.home);
      const spec = {
        shell: forwarderShell(),
        scriptPath,
        url: opts.url ?? config.hooks.envUrl ?? current?.url ?? config.hooks.defaultUrl,
        spoolDir: opts.spool ? resolveDir(opts.spool) : (config.hooks.envSpoolDir ?? current?.spoolDir ?? config.hooks.defaultSpoolDir),
      };
      const tokenLine = await installToken(spec.spoolDir, opts.token, opts.owner);
      const r = installForwarder(file, spec);
      const out = r.changed
        ? [`Installed the orchestrator hooks in ${file}`, ...(r.backup ? [`Backup of the previous file: ${r.backup}`] : [])]
        : [`Already installed in ${file}; nothing changed.`];
      out.push(`Server: ${spec.url}`, `Spool:  ${spec.spoolDir}`, `Forwarder: ${scriptPath}`, tokenLine);
      process.stdout.write(`${out.join('\n')}\n`);
    });

  targetOptions(hooks.command('uninstall'))
    .description('Remove the orchestrator hooks (and nothing else) from the settings file.')
    .action((opts: TargetOptions) => {
      const config = loadConfig();
      const file = settingsPath(opts, config.hooks.claudeConfigDir);
      const installedSpool = findForwarder(readSettings(file).settings)[0]?.spoolDir;
      const r = uninstallForwarder(file);
      const lines = r.changed
        ? [`Removed ${r.removed} orchestrator hook(s) from ${file}`, ...(r.backup ? [`Backup of the previous file: ${r.backup}`] : [])]
        : [`No orchestrator hooks in ${file}; nothing changed.`];
      const spool = inspectSpool(config.hooks.envSpoolDir ?? installedSpool ?? config.hooks.defaultSpoolDir);
      if (spool.queued) lines.push(`${spool.queued} event(s) are still queued in ${spool.dir}: run \`cco hooks flush\` to deliver them.`);
      process.stdout.write(`${lines.join('\n')}\n`);
    });

  hooks.addCommand(hooksStatusCommand());
  hooks.addCommand(hooksFlushCommand());
  return hooks;
}
