/** How a session's turns run: chosen at creation, stored with the session, reused by every turn. */
export const PERMISSION_MODES = ['default', 'acceptEdits', 'plan', 'bypassPermissions'] as const;
export type PermissionMode = (typeof PERMISSION_MODES)[number];

export interface RunOptions {
  permission_mode: PermissionMode;
  allowed_tools?: string[] | undefined;
  disallowed_tools?: string[] | undefined;
  model?: string | undefined;
  append_system_prompt?: string | undefined;
  max_turns?: number | undefined;
  /** Time limit of one turn, seconds. */
  timeout_s: number;
  /** The session asked to load a cloned repository's own .claude settings (honoured only with ALLOW_PROJECT_SETTINGS). */
  trust_project_settings: boolean;
}

export function parseRunOptions(stored: Record<string, unknown>, defaults: { permission_mode: PermissionMode; timeout_s: number }): RunOptions {
  const strings = (v: unknown) => (Array.isArray(v) && v.every((x) => typeof x === 'string') ? (v as string[]) : undefined);
  const mode = PERMISSION_MODES.find((m) => m === stored.permission_mode) ?? defaults.permission_mode;
  return {
    permission_mode: mode,
    allowed_tools: strings(stored.allowed_tools),
    disallowed_tools: strings(stored.disallowed_tools),
    model: typeof stored.model === 'string' ? stored.model : undefined,
    append_system_prompt: typeof stored.append_system_prompt === 'string' ? stored.append_system_prompt : undefined,
    max_turns: typeof stored.max_turns === 'number' ? stored.max_turns : undefined,
    timeout_s: typeof stored.timeout_s === 'number' ? stored.timeout_s : defaults.timeout_s,
    trust_project_settings: stored.trust_project_settings === true,
  };
}

/**
 * Whether Claude Code may load the workspace's project settings (.claude/settings*.json, which
 * include hooks that run on this host). A repository cloned from a URL is someone else's content:
 * only when the session asked and the server allows it. The user's own folders: always.
 */
export function loadsProjectSettings(workspace: { kind: string; base_repo_url?: unknown } | undefined, options: RunOptions, allowProjectSettings: boolean): boolean {
  const fromUrl = workspace?.kind === 'github' || (workspace?.kind === 'worktree' && typeof workspace.base_repo_url === 'string');
  return !fromUrl || (options.trust_project_settings && allowProjectSettings);
}
