-- Approvals (README "Approvals"): a tool call a policy marks `ask` waits for a person's decision.

-- The policy a session was given at creation ({policy, mode}: `replace` when an admin gave it,
-- `narrow` when it only adds to the server's), and the policy in force for each turn.
ALTER TABLE sessions ADD COLUMN policy jsonb;
ALTER TABLE turns ADD COLUMN policy jsonb;

-- One row per request. `status` moves once, from pending to allowed, denied or expired (the update
-- is conditional on pending, so the first answer wins). `parked` says the turn that asked stopped
-- waiting: the decision then continues the session with a new turn (`continued_turn_id`, set in
-- the transaction that stores that turn, so it is queued exactly once). `consumed_at` marks an
-- allowed call that ran: an allow lets the same call run once (or, with scope `session`, the same
-- call any number of times in that session).
CREATE TABLE approvals (
  id uuid PRIMARY KEY,
  session_id uuid NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
  turn_id bigint,
  tool_use_id text,
  tool_name text NOT NULL,
  tool_input jsonb NOT NULL,
  -- sha256 of the tool name and its input in canonical JSON: "the same call".
  call_hash text NOT NULL,
  rule jsonb,
  status text NOT NULL DEFAULT 'pending',
  parked boolean NOT NULL DEFAULT false,
  requested_at timestamptz(3) NOT NULL,
  expires_at timestamptz(3) NOT NULL,
  timeout_action text NOT NULL DEFAULT 'deny',
  approvers jsonb NOT NULL DEFAULT '[]',
  decided_at timestamptz(3),
  decided_by text,
  decided_via text,
  reason text,
  scope text,
  consumed_at timestamptz(3),
  continued_turn_id bigint
);
CREATE INDEX approvals_session_idx ON approvals (session_id, requested_at DESC, id);
CREATE INDEX approvals_list_idx ON approvals (requested_at DESC, id);
-- The inbox and the expiry sweep look only at pending requests.
CREATE INDEX approvals_pending_idx ON approvals (expires_at) WHERE status = 'pending';
-- Requests the sweep may have to park: waiting, or decided but never used by a turn (a crash).
CREATE INDEX approvals_unparked_idx ON approvals (turn_id) WHERE NOT parked AND (status = 'pending' OR consumed_at IS NULL);
-- Decided requests whose session still has to be continued (the sweep after a crash).
CREATE INDEX approvals_continue_idx ON approvals (decided_at) WHERE status <> 'pending' AND parked AND continued_turn_id IS NULL;
