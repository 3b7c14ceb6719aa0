/**
 * Adds and removes the orchestrator's hooks in a Claude Code settings object
 * (shape: {"hooks": {"<Event>": [{"matcher"?, "hooks": [{"type":"command", ...}]}]}},
 * reference §2.1). Pure functions: every other key, event, group and hook is
 * kept as it is. Our hooks are recognised by the forwarder's file name in their
 * command (FORWARDER_MARKER), so uninstall never touches anything else.
 */
import { isDeepStrictEqual } from 'node:util';
import { HOOK_EVENTS, type HookEventName } from './events.ts';

export const FORWARDER_MARKER = 'cco-hook.sh';

export type Settings = Record<string, unknown>;
type Group = Record<string, unknown> & { hooks?: unknown };

export interface ForwarderSpec {
  /** The interpreter: /bin/bash where present (its built-in clock saves starting date(1)), else sh. */
  shell: string;
  scriptPath: string;
  url: string;
  spoolDir: string;
}

/** Single-quotes for sh: Claude Code runs the command string with `/bin/sh -c`. */
export const shellQuote = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;

export function forwarderHook(spec: ForwarderSpec, event: HookEventName): Record<string, unknown> {
  return {
    type: 'command',
    // `exec` saves the fork of a second shell (Claude Code wraps the command in /bin/sh -c).
    command: `exec ${spec.shell} ${shellQuote(spec.scriptPath)} --url ${shellQuote(spec.url)} --spool ${shellQuote(spec.spoolDir)} ${event}`,
    // The forwarder exits in a few ms; the timeout only bounds a stuck disk.
    timeout: 10,
  };
}

export function isOurHook(h: unknown): boolean {
  if (!h || typeof h !== 'object') return false;
  const c = (h as { command?: unknown }).command;
  return (h as { type?: unknown }).type === 'command' && typeof c === 'string' && c.includes(FORWARDER_MARKER);
}

const groupsOf = (settings: Settings, event: string): unknown[] | undefined => {
  const hooks = settings.hooks;
  if (!hooks || typeof hooks !== 'object' || Array.isArray(hooks)) return undefined;
  const list = (hooks as Record<string, unknown>)[event];
  return Array.isArray(list) ? list : undefined;
};

const hasOurs = (g: unknown) => Boolean(g && typeof g === 'object' && Array.isArray((g as Group).hooks) && ((g as Group).hooks as unknown[]).some(isOurHook));

/** Removes our hooks from one event's groups; a group left empty by that is dropped. */
function stripGroups(groups: unknown[]): unknown[] {
  const out: unknown[] = [];
  for (const g of groups) {
    if (!hasOurs(g)) {
      out.push(g);
      continue;
    }
    const rest = ((g as Group).hooks as unknown[]).filter((h) => !isOurHook(h));
    if (rest.length) out.push({ ...(g as Group), hooks: rest });
  }
  return out;
}

/** Throws when the settings cannot take hooks without overwriting something we do not own. */
export function checkShape(settings: unknown): asserts settings is Settings {
  if (!settings || typeof settings !== 'object' || Array.isArray(settings)) throw new Error('the settings file must hold a JSON object');
  const hooks = (settings as Settings).hooks;
  if (hooks === undefined) return;
  if (!hooks || typeof hooks !== 'object' || Array.isArray(hooks)) throw new Error('"hooks" in the settings file is not an object');
  for (const [event, list] of Object.entries(hooks)) {
    if (!Array.isArray(list)) throw new Error(`"hooks.${event}" in the settings file is not an array`);
  }
}

/** Settings with exactly one forwarder group per event; an identical existing group stays where it is. */
export function addForwarder(settings: Settings, spec: ForwarderSpec): Settings {
  checkShape(settings);
  const hooks: Record<string, unknown> = { ...((settings.hooks as Record<string, unknown> | undefined) ?? {}) };
  for (const event of HOOK_EVENTS) {
    const want = { hooks: [forwarderHook(spec, event)] };
    const groups = groupsOf(settings, event) ?? [];
    const ours = groups.filter(hasOurs);
    if (ours.length === 1 && isDeepStrictEqual(ours[0], want)) continue;
    const at = groups.findIndex(hasOurs);
    const kept = stripGroups(groups);
    // Keep our group at the place the old one had (counted among the groups that stay).
    const pos = at < 0 ? kept.length : stripGroups(groups.slice(0, at)).length;
    hooks[event] = [...kept.slice(0, pos), want, ...kept.slice(pos)];
  }
  return { ...settings, hooks };
}

/** Settings without any of our hooks; events and the hooks key are dropped only when we emptied them. */
export function removeForwarder(settings: Settings): Settings {
  checkShape(settings);
  if (settings.hooks === undefined) return settings;
  const hooks: Record<string, unknown> = {};
  for (const [event, list] of Object.entries(settings.hooks as Record<string, unknown[]>)) {
    if (!list.some(hasOurs)) {
      hooks[event] = list;
      continue;
    }
    const kept = stripGroups(list);
    if (kept.length) hooks[event] = kept;
  }
  const weEmptied = Object.keys(hooks).length === 0 && Object.keys(settings.hooks as object).length > 0;
  if (weEmptied) {
    const { hooks: _h, ...rest } = settings;
    return rest;
  }
  return { ...settings, hooks };
}

export interface InstalledForwarder {
  event: string;
  command: string;
  url: string | undefined;
  spoolDir: string | undefined;
}

/** Our hooks found in the settings, with the URL and spool folder parsed from their commands. */
export function findForwarder(settings: Settings): InstalledForwarder[] {
  const found: InstalledForwarder[] = [];
  const hooks = settings.hooks;
  if (!hooks || typeof hooks !== 'object' || Array.isArray(hooks)) return found;
  for (const [event, list] of Object.entries(hooks as Record<string, unknown>)) {
    if (!Array.isArray(list)) continue;
    for (const g of list) {
      if (!hasOurs(g)) continue;
      for (const h of (g as Group).hooks as unknown[]) {
        if (!isOurHook(h)) continue;
        const command = (h as { command: string }).command;
        found.push({ event, command, url: argAfter(command, '--url'), spoolDir: argAfter(command, '--spool') });
      }
    }
  }
  return found;
}

function argAfter(command: string, flag: string): string | undefined {
  const m = new RegExp(`${flag} '((?:[^']|'\\\\'')*)'`).exec(command);
  return m?.[1]?.replaceAll(`'\\''`, "'");
}
