/**
 * Approval requests (GET /api/approvals, src/http/routes/approvals.ts) as the dashboard sees them.
 * The policy types are the server's own (types only, erased at build).
 */
export type { Policy, Rule, SessionPolicy } from '../../../src/approvals/policy.ts';

export const APPROVAL_STATES = ['pending', 'allowed', 'denied', 'expired'] as const;
export type ApprovalStatus = (typeof APPROVAL_STATES)[number];

export interface Approval {
  id: string;
  session_id: string;
  turn_id: number | null;
  tool_use_id: string | null;
  tool_name: string;
  /** The exact input the tool would run with (secret-looking values redacted by the server). */
  tool_input: unknown;
  /** The policy rule that asked; null for the policy's default. */
  rule: Record<string, unknown> | null;
  status: ApprovalStatus;
  requested_at: string;
  expires_at: string;
  timeout_action: 'allow' | 'deny';
  approvers: string[];
  decided_at: string | null;
  decided_by: string | null;
  decided_via: string | null;
  reason: string | null;
  scope: 'once' | 'session' | null;
  consumed_at: string | null;
  continued_turn_id: number | null;
  session?: { project_path: string; owner: string | null };
}

/** What a 409 already_decided says about the decision that won (error.details). */
export interface DecidedDetails {
  status: ApprovalStatus;
  decided_by: string | null;
  decided_at: string | null;
  decided_via: string | null;
}
