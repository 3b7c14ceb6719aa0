/**
 * One approval request: the tool and its exact input, the session, when it was asked and expires,
 * the rule that asked; Allow / Allow for this session / Deny (with an optional reason) while it
 * waits, who decided and when after. The same card serves the inbox and the session page's banner.
 */
import { useState } from 'react';
import { ApiError, errorText } from '../../api/client.ts';
import type { Approval, DecidedDetails } from '../../api/approval-types.ts';
import { formatTime, projectName, relativeTime } from '../../components/format.ts';
import { Link } from '../../routes/router.tsx';
import type { Me } from '../auth/access.ts';
import { useMe } from '../auth/auth.tsx';
import { outcomeText, ruleText, untilTime } from './format.ts';
import { ToolInput } from './tool-input.tsx';
import { useApproval, useDecide, type DecisionInput } from './use-approvals.ts';

/**
 * Admins, the session's owner and the approvers the policy names may decide (the server enforces
 * it; this hides buttons that would be refused). Without the session's owner at hand, a user gets
 * the buttons and the server's answer.
 */
export function canDecide(me: Me, a: Approval): boolean {
  if (me.role === 'admin') return true;
  if (me.role !== 'user') return false;
  return !a.session || a.session.owner === me.owner || a.approvers.includes(me.name);
}

function conflictOf(e: unknown): DecidedDetails | undefined {
  if (!(e instanceof ApiError) || e.status !== 409 || e.code !== 'already_decided' || !e.details) return undefined;
  return e.details as unknown as DecidedDetails;
}

function Outcome({ a }: { a: Pick<Approval, 'status' | 'decided_by' | 'decided_via' | 'decided_at' | 'reason' | 'scope'> }) {
  return (
    <p className={`approval-outcome outcome-${a.status}`} data-testid="approval-outcome" role="status">
      <strong>{outcomeText(a)}</strong>
      {a.decided_at && <> at <time dateTime={a.decided_at}>{formatTime(a.decided_at)}</time></>}
      {a.status === 'allowed' && a.scope === 'session' && <> · for the rest of the session</>}
      {a.reason && <span className="approval-reason"> · reason: {a.reason}</span>}
    </p>
  );
}

function Buttons({ a, onDecide, busy }: { a: Approval; onDecide: (d: DecisionInput) => void; busy: boolean }) {
  const [reason, setReason] = useState('');
  const why = reason.trim() ? { reason: reason.trim() } : {};
  return (
    <div className="approval-actions">
      <label className="approval-reason-field">
        <span>Reason (optional)</span>
        <input name="reason" value={reason} maxLength={2000} placeholder="Sent with your decision" onChange={(e) => setReason(e.target.value)} />
      </label>
      <div className="actions" role="group" aria-label={`Decide on ${a.tool_name}`}>
        <button type="button" className="primary" disabled={busy} onClick={() => onDecide({ decision: 'allow', scope: 'once', ...why })}>Allow</button>
        <button type="button" disabled={busy} onClick={() => onDecide({ decision: 'allow', scope: 'session', ...why })} title="Also allow the same call again in this session without asking">Allow for this session</button>
        <button type="button" className="danger" disabled={busy} onClick={() => onDecide({ decision: 'deny', ...why })}>Deny</button>
      </div>
    </div>
  );
}

export function ApprovalCard({ approval, gone = false, showSession = true }: { approval: Approval; gone?: boolean; showSession?: boolean }) {
  const me = useMe();
  const decide = useDecide(approval.id);
  // Left the pending list without our decision: someone else decided, or it expired.
  const latest = useApproval(approval.id, gone && approval.status === 'pending' && !decide.data && !decide.isError);
  const a = decide.data ?? latest.data ?? approval;
  const conflict = conflictOf(decide.error);
  const failed = decide.isError && !conflict ? decide.error : undefined;
  const input = a.tool_input as Record<string, unknown> | null;
  return (
    <article className={`approval-card status-${a.status}`} data-testid="approval" data-approval-id={a.id} data-status={conflict?.status ?? a.status} aria-label={`${a.tool_name} approval request`}>
      <header className="approval-head">
        <strong className="approval-tool">{a.tool_name}</strong>
        <span className={`badge approval-status-${conflict?.status ?? a.status}`}>{conflict?.status ?? a.status}</span>
        {showSession && (
          <Link to={`/sessions/${a.session_id}`} className="approval-session" title={a.session?.project_path}>
            {a.session?.project_path ? projectName(a.session.project_path) : `session ${a.session_id.slice(0, 8)}`}
            {a.session?.owner && me.auth === 'keys' ? <span className="muted"> · {a.session.owner}</span> : null}
          </Link>
        )}
      </header>
      <ToolInput tool={a.tool_name} input={input} />
      <dl className="approval-facts">
        <div><dt>Requested</dt><dd><time dateTime={a.requested_at} title={formatTime(a.requested_at)}>{relativeTime(a.requested_at)}</time></dd></div>
        {a.status === 'pending' && !conflict && (
          <div><dt>Expires</dt><dd><time dateTime={a.expires_at} title={formatTime(a.expires_at)}>{untilTime(a.expires_at)}</time> <span className="muted">(then {a.timeout_action === 'allow' ? 'allowed' : 'denied'})</span></dd></div>
        )}
        <div><dt>Rule</dt><dd><code>{ruleText(a.rule)}</code> <span className="muted">asks</span></dd></div>
      </dl>
      {conflict ? (
        <div className="approval-conflict" data-testid="already-decided" role="alert">
          <p>Someone decided first: <strong>already {conflict.status} by {conflict.decided_by ?? 'someone'}</strong>
            {conflict.decided_at && <> at <time dateTime={conflict.decided_at}>{formatTime(conflict.decided_at)}</time></>}
            {conflict.decided_via && <> via {conflict.decided_via}</>}. Your decision was not applied.</p>
        </div>
      ) : a.status !== 'pending' ? (
        <Outcome a={a} />
      ) : gone ? (
        <p className="muted" role="status">No longer waiting; loading who decided…</p>
      ) : canDecide(me, a) ? (
        <Buttons a={a} busy={decide.isPending} onDecide={(d) => decide.mutate(d)} />
      ) : (
        <p className="muted">Waiting for the session owner, an admin{a.approvers.length ? ` or ${a.approvers.join(', ')}` : ''}.</p>
      )}
      {failed !== undefined && <p className="notice error" role="alert">Not decided: {errorText(failed)}</p>}
    </article>
  );
}
