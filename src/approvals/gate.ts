/**
 * The policy at the point a tool would run: an SDK PreToolUse callback (it fires for every call,
 * whatever the permission mode; settings hooks would not survive a user's disableAllHooks). `deny`
 * refuses the call; `allow` by a rule lets it run; an `allow` default leaves it to Claude Code's
 * permission mode, as without a policy. `ask` uses an allow or refusal already given for this very
 * call, else asks: the callback holds the call open up to APPROVAL_WAIT_S (the Agent SDK's
 * canUseTool cannot wait longer reliably), and past that refuses it with `continue: false`, which
 * ends the turn without another model request. The request stays pending; its decision continues
 * the session (ApprovalService). Nothing runs before an allow: a process that dies while it waits
 * takes the call with it.
 */
import type { HookCallback, HookJSONOutput } from '@anthropic-ai/claude-agent-sdk';
import type { Logger } from '../logger.ts';
import { decide, governing, type CallContext, type EffectivePolicy, type ToolCall } from './policy.ts';
import { outcomeOf, type ApprovalService } from './service.ts';

export interface GateSpec {
  approvals: ApprovalService;
  policy: EffectivePolicy;
  ctx: CallContext;
  sessionId: string;
  turnId: number;
  waitMs: number;
  /** Plan mode stays plan mode: a rule's allow does not let a write through. */
  planMode: boolean;
  log: Logger;
  /** The turn stopped waiting for this request (the turn then ends as awaiting approval). */
  onParked: (approvalId: string, call: ToolCall) => void;
  onActivity?: (() => void) | undefined;
}

const allow = (reason: string): HookJSONOutput => ({ hookSpecificOutput: { hookEventName: 'PreToolUse', permissionDecision: 'allow', permissionDecisionReason: reason } });
const deny = (reason: string, stop?: string): HookJSONOutput => ({
  ...(stop ? { continue: false, stopReason: stop } : {}),
  hookSpecificOutput: { hookEventName: 'PreToolUse', permissionDecision: 'deny', permissionDecisionReason: reason },
});

export function policyGate(g: GateSpec): HookCallback {
  return async (input, toolUseId, { signal }) => {
    const i = input as { tool_name?: unknown; tool_input?: unknown };
    if (typeof i.tool_name !== 'string') return {};
    const call: ToolCall = { tool_name: i.tool_name, tool_input: i.tool_input && typeof i.tool_input === 'object' ? (i.tool_input as Record<string, unknown>) : {} };
    const verdict = decide(g.policy, call, g.ctx);
    const rule = verdict.rule ? ` (rule ${JSON.stringify(verdict.rule)})` : '';
    if (verdict.action === 'deny') return deny(`Refused by the orchestrator's approval policy${rule || ' (default deny)'}.`);
    if (verdict.action === 'allow') return verdict.explicit && !g.planMode ? allow(`Allowed by the approval policy${rule}.`) : {};

    const given = await g.approvals.takeAllow(g.sessionId, call);
    if (given) return allow(`Allowed by ${given.decided_by ?? 'a person'}${given.reason ? `: ${given.reason}` : ''}.`);
    const refused = await g.approvals.takeRefusal(g.sessionId, call);
    if (refused) return deny(refusalText(refused.decided_by, refused.reason, refused.status === 'expired'));

    const request = await g.approvals.request({ sessionId: g.sessionId, turnId: g.turnId, toolUseId, call, rule: verdict.rule, policy: governing(g.policy) });
    g.log.info({ approvalId: request.id, tool: call.tool_name }, 'tool call waits for approval');
    let row = await g.approvals.wait(request.id, g.waitMs, signal);
    g.onActivity?.();
    if (row.status === 'pending') {
      if (await g.approvals.park(row.id)) {
        g.onParked(row.id, call);
        const text = `Waiting for a person to approve this ${call.tool_name} call (approval ${row.id}); the session continues when someone decides.`;
        return deny(text, text);
      }
      row = await g.approvals.wait(row.id, 0); // decided between the last look and the park
    }
    await g.approvals.markConsumed(row.id);
    return outcomeOf(row) === 'allow' ? allow(`Allowed by ${row.decided_by ?? 'a person'}${row.reason ? `: ${row.reason}` : ''}.`) : deny(refusalText(row.decided_by, row.reason, row.status === 'expired'));
  };
}

function refusalText(by: string | null, reason: string | null, expired: boolean): string {
  if (expired) return 'Refused: no one approved this call in time.';
  return `Denied by ${by ?? 'a person'}${reason ? `: ${reason}` : ''}. Do not run this call again unless asked.`;
}
