-- Outgoing webhooks. See src/webhooks/ and ARCHITECTURE.md "Webhooks".

-- A subscription: where to POST which events. owner/role are the creating key's: a user key's
-- subscription gets events of its own sessions only. The secret signs every delivery; it is kept
-- as given (never passed through redaction, never returned after creation).
CREATE TABLE webhooks (
  id uuid PRIMARY KEY,
  url text NOT NULL,
  events text[] NOT NULL,
  description text,
  secret text NOT NULL,
  owner text NOT NULL,
  role text NOT NULL,
  -- The creating key: once it is revoked or expired, its subscriptions get nothing more. Null under AUTH=off.
  key_id uuid,
  created_by text NOT NULL,
  created_at timestamptz(3) NOT NULL DEFAULT now()
);
CREATE INDEX webhooks_owner_idx ON webhooks (owner, created_at);

-- How far each session's events have been turned into deliveries. Moved under the row's lock, in
-- the transaction that writes the deliveries, so two API processes never derive the same event
-- twice (and the unique dedupe key below would refuse it if they did).
CREATE TABLE webhook_cursors (
  session_id uuid PRIMARY KEY,
  created_done boolean NOT NULL DEFAULT false,
  completed_done boolean NOT NULL DEFAULT false,
  -- Turns up to these ids have had their turn.started / turn.completed|failed derived.
  started_turn_id bigint NOT NULL DEFAULT 0,
  finished_turn_id bigint NOT NULL DEFAULT 0,
  status_change_id bigint NOT NULL DEFAULT 0,
  -- sessions.updated_at when last brought up to date: the sweep looks only at sessions that moved since.
  seen_updated_at timestamptz(3)
);

-- Every status change of a session, written by a trigger in the changing transaction (whoever
-- changes it: API, runner, recovery SQL), so quick changes are not folded into one.
-- Written only while some subscription exists.
CREATE TABLE webhook_status_changes (
  id bigserial PRIMARY KEY,
  session_id uuid NOT NULL,
  from_status text NOT NULL,
  to_status text NOT NULL,
  at timestamptz(3) NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX webhook_status_changes_session_idx ON webhook_status_changes (session_id, id);
CREATE INDEX webhook_status_changes_at_idx ON webhook_status_changes (at);

CREATE FUNCTION webhook_record_status_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF EXISTS (SELECT 1 FROM webhooks) THEN
    INSERT INTO webhook_status_changes (session_id, from_status, to_status) VALUES (NEW.id, OLD.status, NEW.status);
  END IF;
  RETURN NULL;
END
$$;
CREATE TRIGGER sessions_webhook_status AFTER UPDATE OF status ON sessions
  FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status) EXECUTE FUNCTION webhook_record_status_change();

-- The durable queue: one row per (subscription, event), written before it is sent and sent by
-- whichever API process claims it first (SKIP LOCKED, with a lease). Rows of one subscription and
-- session go out in id order: a later one waits while an earlier one is pending or sending.
CREATE TABLE webhook_deliveries (
  id bigserial PRIMARY KEY,
  webhook_id uuid NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
  session_id uuid NOT NULL,
  event_key text NOT NULL,
  event_type text NOT NULL,
  -- When the event happened (the body's created_at).
  event_at timestamptz(3) NOT NULL,
  -- json, not jsonb: kept as written, so receivers get the fields in the documented order.
  data json NOT NULL,
  state text NOT NULL DEFAULT 'pending',
  attempts integer NOT NULL DEFAULT 0,
  next_attempt_at timestamptz(3) NOT NULL DEFAULT now(),
  lease_until timestamptz(3),
  -- Retries stop 24 h after this (set again by a redelivery).
  retry_from timestamptz(3) NOT NULL DEFAULT now(),
  last_status integer,
  last_error text,
  last_response text,
  last_attempt_at timestamptz(3),
  created_at timestamptz(3) NOT NULL DEFAULT now(),
  delivered_at timestamptz(3),
  UNIQUE (webhook_id, event_key)
);
CREATE INDEX webhook_deliveries_open_idx ON webhook_deliveries (next_attempt_at) WHERE state IN ('pending', 'sending');
CREATE INDEX webhook_deliveries_chain_idx ON webhook_deliveries (webhook_id, session_id, id) WHERE state IN ('pending', 'sending');
-- GET /api/webhooks/:id/deliveries pages newest first.
CREATE INDEX webhook_deliveries_list_idx ON webhook_deliveries (webhook_id, id);
CREATE INDEX webhook_deliveries_done_idx ON webhook_deliveries (created_at) WHERE state IN ('delivered', 'failed');
