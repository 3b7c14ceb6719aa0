-- Run and wait (README "Run and wait"): Idempotency-Key and close_after.

-- A request sent with an Idempotency-Key, per caller (the API key's id, or its name for keys without
-- one, e.g. AUTH=off's `local`). The first request claims the row; what it created (session, turn) is
-- recorded as soon as it exists and its answer when it is sent, so a repeat returns that answer, or
-- waits on the same turn, instead of running anything again. Rows older than 24 h are pruned.
CREATE TABLE idempotency_keys (
  id bigserial PRIMARY KEY,
  scope text NOT NULL,
  key text NOT NULL,
  method text NOT NULL,
  path text NOT NULL,
  -- sha256 of method, path and body (without `wait`): the same key with another request is refused.
  request_hash text NOT NULL,
  -- Changed when an abandoned claim is taken over: a late first request then cannot record into it.
  claim uuid NOT NULL,
  session_id uuid,
  turn_id bigint,
  message_id bigint,
  response_status integer,
  response_body jsonb,
  created_at timestamptz(3) NOT NULL DEFAULT now(),
  completed_at timestamptz(3),
  UNIQUE (scope, key)
);
CREATE INDEX idempotency_keys_created_idx ON idempotency_keys (created_at);

-- The session asked to be closed when this turn ends (the runner closes it; the reconciler makes sure).
ALTER TABLE turns ADD COLUMN close_after boolean NOT NULL DEFAULT false;
-- The reconciler's look-up of finished close_after turns whose session is still open stays small.
CREATE INDEX turns_close_after_idx ON turns (session_id) WHERE close_after;
