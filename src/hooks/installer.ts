/**
 * `cco hooks install/uninstall`: puts the forwarder script in place and edits a
 * Claude Code settings file. The file is replaced atomically (write a temporary
 * file, fsync, rename) after a timestamped backup of the old content; a file
 * that is not valid JSON is never written. Unchanged settings are not rewritten.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { isDeepStrictEqual } from 'node:util';
import { AppError } from '../lib/errors.ts';
import { addForwarder, checkShape, findForwarder, removeForwarder, type ForwarderSpec, type Settings } from './settings-merge.ts';

/** The forwarder shipped with the package. */
export const PACKAGED_SCRIPT = path.join(path.dirname(fileURLToPath(import.meta.url)), 'cco-hook.sh');

export class SettingsFileError extends AppError {
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(code, message, 400, options);
  }
}

/** `--user`: $CLAUDE_CONFIG_DIR/settings.json (default ~/.claude); `--project DIR`: DIR/.claude/settings.json. */
export function settingsPath(target: { project?: string | undefined }, claudeConfigDir: string): string {
  return target.project ? path.join(path.resolve(target.project), '.claude', 'settings.json') : path.join(claudeConfigDir, 'settings.json');
}

export interface LoadedSettings {
  exists: boolean;
  text: string | undefined;
  settings: Settings;
}

export function readSettings(file: string): LoadedSettings {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e: unknown) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { exists: false, text: undefined, settings: {} };
    throw new SettingsFileError('settings_unreadable', `cannot read ${file}: ${(e as Error).message}`, { cause: e });
  }
  let parsed: unknown;
  try {
    parsed = text.trim() === '' ? {} : JSON.parse(text);
  } catch (e: unknown) {
    throw new SettingsFileError(
      'settings_invalid_json',
      `${file} is not valid JSON (${(e as Error).message}). It was left untouched: fix it (or move it away) and run the command again.`,
      { cause: e },
    );
  }
  try {
    checkShape(parsed);
  } catch (e: unknown) {
    throw new SettingsFileError('settings_invalid_shape', `${file}: ${(e as Error).message}. It was left untouched.`, { cause: e });
  }
  return { exists: true, text, settings: parsed };
}

/** Backs up the current content (if any), then replaces the file atomically. Returns the backup path. */
export function writeSettingsAtomic(file: string, settings: Settings, previous: LoadedSettings): string | undefined {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  let backup: string | undefined;
  let mode = 0o644;
  if (previous.exists && previous.text !== undefined) {
    mode = fs.statSync(file).mode & 0o777;
    backup = `${file}.cco-backup-${new Date().toISOString().replace(/[:.]/g, '-')}`;
    fs.writeFileSync(backup, previous.text, { mode });
  }
  writeFileAtomic(file, `${JSON.stringify(settings, null, 2)}\n`, mode);
  return backup;
}

export function writeFileAtomic(file: string, content: string, mode: number): void {
  const tmp = `${file}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  const fd = fs.openSync(tmp, 'w', mode);
  try {
    fs.writeSync(fd, content);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  try {
    fs.renameSync(tmp, file);
  } catch (e: unknown) {
    fs.rmSync(tmp, { force: true });
    throw e;
  }
}

/** /bin/bash when installed (EPOCHREALTIME saves a date(1) per call), else the POSIX sh. */
export function forwarderShell(): string {
  return fs.existsSync('/bin/bash') ? '/bin/bash' : 'sh';
}

/** Copies the forwarder to CCO_HOME/bin (atomically: a hook running right now sees the old or the new file). */
export function installScript(ccoHome: string): string {
  const target = path.join(ccoHome, 'bin', 'cco-hook.sh');
  const content = fs.readFileSync(PACKAGED_SCRIPT, 'utf8');
  let current: string | undefined;
  try {
    current = fs.readFileSync(target, 'utf8');
  } catch {
    current = undefined;
  }
  if (current !== content) {
    fs.mkdirSync(path.dirname(target), { recursive: true });
    writeFileAtomic(target, content, 0o755);
  }
  return target;
}

export interface ChangeResult {
  file: string;
  changed: boolean;
  backup: string | undefined;
}

export function installForwarder(file: string, spec: ForwarderSpec): ChangeResult {
  const loaded = readSettings(file);
  const next = addForwarder(loaded.settings, spec);
  if (loaded.exists && isDeepStrictEqual(next, loaded.settings)) return { file, changed: false, backup: undefined };
  return { file, changed: true, backup: writeSettingsAtomic(file, next, loaded) };
}

export function uninstallForwarder(file: string): ChangeResult & { removed: number } {
  const loaded = readSettings(file);
  const removed = findForwarder(loaded.settings).length;
  if (!loaded.exists || removed === 0) return { file, changed: false, backup: undefined, removed: 0 };
  const next = removeForwarder(loaded.settings);
  return { file, changed: true, backup: writeSettingsAtomic(file, next, loaded), removed };
}
