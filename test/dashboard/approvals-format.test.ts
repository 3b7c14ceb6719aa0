/** The dashboard's approval wording (pure) and how live session events keep a session's pending count. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { LiveEvent, Session } from '../../web/src/api/types.ts';
import { outcomeText, ruleText, untilTime } from '../../web/src/features/approvals/format.ts';
import { applyToSession } from '../../web/src/features/live/apply-event.ts';

test('a rule reads as what it matches; no rule is the policy default', () => {
  assert.equal(ruleText({ tool: 'Bash', command: 'git push*', action: 'ask' }), 'Bash · command "git push*"');
  assert.equal(ruleText({ tool: 'Write', path: 'src/**', workspace: 'github', action: 'ask' }), 'Write · path "src/**" · workspace "github"');
  assert.equal(ruleText(null), 'the policy default');
});

test('expiry reads as time ahead; past it, overdue', () => {
  const now = Date.parse('2026-01-01T00:00:00.000Z');
  assert.equal(untilTime('2026-01-01T00:00:30.000Z', now), 'in 30 s');
  assert.equal(untilTime('2026-01-01T00:05:00.000Z', now), 'in 5 min');
  assert.equal(untilTime('2026-01-01T23:59:00.000Z', now), 'in 23 h');
  assert.equal(untilTime('2026-01-03T00:00:00.000Z', now), 'in 2 d');
  assert.equal(untilTime('2025-12-31T23:59:59.000Z', now), 'overdue');
});

test('an outcome names who decided and where; an expiry says nobody did', () => {
  assert.equal(outcomeText({ status: 'allowed', decided_by: 'dana', decided_via: 'slack' }), 'Allowed by dana via slack');
  assert.equal(outcomeText({ status: 'denied', decided_by: 'local', decided_via: 'dashboard' }), 'Denied by local via dashboard');
  assert.equal(outcomeText({ status: 'expired', decided_by: null, decided_via: 'timeout' }), 'Expired: nobody decided in time');
});

test('a session event (which has no pending count) keeps the count the page knows', () => {
  const base: Session = {
    id: 'a', claude_session_id: null, project_path: '/srv/a', project_type: 'local', status: 'active', source: 'api', owner: null,
    created_at: '2026-01-01T00:00:00.000Z', updated_at: '2026-01-01T00:00:01.000Z', metadata: {}, pending_approvals: 2,
  };
  const incoming: Session = { ...base, updated_at: '2026-01-01T00:00:02.000Z', turn_state: 'running', pending_approvals: undefined };
  delete incoming.pending_approvals;
  const ev = (session: Session) => ({ type: 'session.updated', session_id: 'a', at: '', seq: 1, session }) as LiveEvent;
  const next = applyToSession(base, ev(incoming));
  assert.equal(next.turn_state, 'running');
  assert.equal(next.pending_approvals, 2);
  // A fresh count from the server wins.
  assert.equal(applyToSession(base, ev({ ...incoming, pending_approvals: 0 })).pending_approvals, 0);
});
