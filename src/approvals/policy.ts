/**
 * Approval policies: ordered rules over a tool call, each `allow`, `deny` or `ask`; the first rule
 * that matches decides, else the policy's default. A session's policy is combined with the
 * server's: an admin's replaces it (admins may widen), anyone else's can only narrow it (the
 * stricter of the two decisions wins: deny > ask > allow).
 */
import { createHash } from 'node:crypto';
import path from 'node:path';
import { z } from 'zod';

export const ACTIONS = ['allow', 'deny', 'ask'] as const;
export type Action = (typeof ACTIONS)[number];

const glob = z.string().min(1).max(500);

export const ruleSchema = z
  .object({
    tool: glob.describe('Tool name, or a glob (`*`, `mcp__github__*`).'),
    command: glob.optional().describe('Bash only: a glob over the whole command (`git push*`, `rm *`).'),
    path: glob.optional().describe('File tools: a glob over the file or folder path, absolute or relative to the workspace (`src/**`, `**/.env`).'),
    workspace: glob.optional().describe('A glob over the workspace: its kind (local, github, worktree, e2b), folder or repository URL.'),
    action: z.enum(ACTIONS),
  })
  .strict();
export type Rule = z.infer<typeof ruleSchema>;

export const policySchema = z
  .object({
    default: z.enum(ACTIONS).describe('What a call no rule matches gets.'),
    rules: z.array(ruleSchema).max(200).default([]).describe('Ordered; the first matching rule wins.'),
    approvers: z.array(z.string().min(1).max(100)).max(50).optional().describe('Key names that may decide besides the session owner and admins.'),
    timeout_s: z.number().int().min(10).max(30 * 86400).optional().describe('How long a request waits for a person (default APPROVAL_TIMEOUT_S).'),
    timeout_action: z.enum(['allow', 'deny']).optional().describe('What an unanswered request becomes (default deny).'),
  })
  .strict();
export type Policy = z.infer<typeof policySchema>;

/** The policy that changes nothing: every call goes to Claude Code's own permission mode. */
export const OPEN_POLICY: Policy = { default: 'allow', rules: [] };

/** What a session stores: the policy it was given, and whether it replaces the server's. */
export interface SessionPolicy {
  policy: Policy;
  mode: 'replace' | 'narrow';
}

/** The policies in force for a turn, as stored with it (turns.policy) and shown in the session. */
export interface EffectivePolicy {
  server: Policy;
  session?: SessionPolicy | undefined;
}

export interface ToolCall {
  tool_name: string;
  tool_input: Record<string, unknown>;
}

export interface CallContext {
  /** The turn's working directory: relative path globs are matched against it. */
  cwd: string;
  /** Workspace kind (local, github, worktree, e2b), folder and repository URL, for `workspace` globs. */
  workspace: string[];
}

export interface Verdict {
  action: Action;
  /** The rule that decided, or undefined for a default. */
  rule: Rule | undefined;
  /** True when the decision came from a rule or a non-allow default (an `allow` default defers to Claude Code's permission mode). */
  explicit: boolean;
}

const FILE_KEYS = ['file_path', 'notebook_path', 'path'] as const;

/** Globs: `**` crosses `/`, `*` and `?` do not, except in commands and tool names where `*` matches anything. */
function globRegex(pattern: string, pathLike: boolean): RegExp {
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '*' && pattern[i + 1] === '*') {
      i++;
      if (pathLike && pattern[i + 1] === '/') {
        i++;
        re += '(?:.*/)?'; // `**/` also matches no folder at all
      } else re += '.*';
    } else if (c === '*') re += pathLike ? '[^/]*' : '.*';
    else if (c === '?') re += pathLike ? '[^/]' : '.';
    else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`, 's');
}

const cache = new Map<string, RegExp>();
function matches(pattern: string, value: string, pathLike: boolean): boolean {
  const key = `${pathLike ? 'p' : 's'}:${pattern}`;
  let re = cache.get(key);
  if (!re) {
    if (cache.size > 2000) cache.clear();
    re = globRegex(pattern, pathLike);
    cache.set(key, re);
  }
  return re.test(value);
}

/** The file or folder a file tool works on, absolute, or undefined for other tools. */
export function callPath(call: ToolCall, cwd: string): string | undefined {
  for (const k of FILE_KEYS) {
    const v = call.tool_input[k];
    if (typeof v === 'string' && v) return path.resolve(cwd, v);
  }
  return undefined;
}

function ruleMatches(rule: Rule, call: ToolCall, ctx: CallContext): boolean {
  if (!matches(rule.tool, call.tool_name, false)) return false;
  if (rule.command !== undefined) {
    const command = call.tool_input.command;
    if (call.tool_name !== 'Bash' || typeof command !== 'string' || !matches(rule.command, command.trim(), false)) return false;
  }
  if (rule.path !== undefined) {
    const p = callPath(call, ctx.cwd);
    if (!p) return false;
    const rel = path.relative(ctx.cwd, p);
    const inside = rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel);
    if (!matches(rule.path, p, true) && !(inside && matches(rule.path, rel, true))) return false;
  }
  if (rule.workspace !== undefined && !ctx.workspace.some((w) => matches(rule.workspace!, w, false))) return false;
  return true;
}

export function evaluate(policy: Policy, call: ToolCall, ctx: CallContext): Verdict {
  for (const rule of policy.rules) if (ruleMatches(rule, call, ctx)) return { action: rule.action, rule, explicit: true };
  return { action: policy.default, rule: undefined, explicit: policy.default !== 'allow' };
}

const STRICTNESS: Record<Action, number> = { allow: 0, ask: 1, deny: 2 };

/** The decision for a call under the server's policy and the session's. */
export function decide(effective: EffectivePolicy, call: ToolCall, ctx: CallContext): Verdict {
  const s = effective.session;
  if (s?.mode === 'replace') return evaluate(s.policy, call, ctx);
  const server = evaluate(effective.server, call, ctx);
  if (!s) return server;
  const own = evaluate(s.policy, call, ctx);
  if (STRICTNESS[own.action] !== STRICTNESS[server.action]) return STRICTNESS[own.action] > STRICTNESS[server.action] ? own : server;
  return own.explicit ? own : server;
}

/** The policy whose approvers, timeout and timeout action apply to a request. */
export function governing(effective: EffectivePolicy): Policy {
  return effective.session?.mode === 'replace' ? effective.session.policy : { ...effective.server, ...pickDefined(effective.session?.policy) };
}

function pickDefined(p: Policy | undefined): Partial<Policy> {
  if (!p) return {};
  // A narrowing policy may name approvers and a shorter wait, never a more permissive timeout action.
  return {
    ...(p.approvers ? { approvers: p.approvers } : {}),
    ...(p.timeout_s ? { timeout_s: p.timeout_s } : {}),
    ...(p.timeout_action === 'deny' ? { timeout_action: 'deny' as const } : {}),
  };
}

/** JSON with sorted keys: the same input always gives the same text. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v && typeof v === 'object') {
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}

/** "The same call": the tool and its exact input (Bash's free-text `description` left out). */
export function callHash(call: ToolCall): string {
  const { description: _d, ...input } = call.tool_input;
  return createHash('sha256').update(`${call.tool_name}\n${canonical(call.tool_name === 'Bash' ? input : call.tool_input)}`).digest('hex');
}
