-- Slack: a thread is a session. See src/slack/ and ARCHITECTURE.md "Slack".

-- 0001 made a placeholder slack_threads that no version ever wrote to; this one replaces it.
DROP TABLE slack_threads;

-- Which Slack thread follows which session, and how far the thread has been brought up to date.
-- thread_ts is null until the bot's first post lands when the bot starts the thread itself (a slash
-- command); head_ts is the bot's status message, edited as turns go (queued, running, done, failed).
CREATE TABLE slack_threads (
  id bigserial PRIMARY KEY,
  session_id uuid NOT NULL UNIQUE,
  team_id text NOT NULL,
  channel_id text NOT NULL,
  thread_ts text,
  head_ts text,
  starter_user_id text NOT NULL,
  -- The inbound event that started it: processing that event again finds this row instead of a new session.
  inbox_key text NOT NULL UNIQUE,
  -- Assistant messages and finished turns up to these ids are in the outbox already.
  synced_message_id bigint NOT NULL DEFAULT 0,
  synced_turn_id bigint NOT NULL DEFAULT 0,
  status_line text,
  created_at timestamptz(3) NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX slack_threads_thread_idx ON slack_threads (channel_id, thread_ts) WHERE thread_ts IS NOT NULL;

-- Every accepted inbound request (event, command), keyed by Slack's own id: a retry or a duplicate
-- delivery finds its key taken and does nothing. Processed from here, so a crash mid-way is picked
-- up again (lease_until) instead of lost.
CREATE TABLE slack_inbox (
  key text PRIMARY KEY,
  kind text NOT NULL,
  payload jsonb NOT NULL,
  state text NOT NULL DEFAULT 'received',
  attempts integer NOT NULL DEFAULT 0,
  lease_until timestamptz(3),
  received_at timestamptz(3) NOT NULL DEFAULT now(),
  done_at timestamptz(3),
  error text
);
CREATE INDEX slack_inbox_open_idx ON slack_inbox (received_at) WHERE state = 'received';

-- Every post to Slack, written before it is sent and sent by whichever process claims it first.
-- Posts of one thread go out in id order (a later one waits while an earlier one is unsent).
CREATE TABLE slack_outbox (
  id bigserial PRIMARY KEY,
  thread_id bigint REFERENCES slack_threads (id) ON DELETE CASCADE,
  channel_id text NOT NULL,
  kind text NOT NULL,
  payload jsonb NOT NULL,
  dedupe_key text UNIQUE,
  state text NOT NULL DEFAULT 'pending',
  attempts integer NOT NULL DEFAULT 0,
  next_attempt_at timestamptz(3) NOT NULL DEFAULT now(),
  lease_until timestamptz(3),
  last_error text,
  created_at timestamptz(3) NOT NULL DEFAULT now(),
  sent_at timestamptz(3),
  result jsonb
);
CREATE INDEX slack_outbox_open_idx ON slack_outbox (next_attempt_at) WHERE state IN ('pending', 'sending');
CREATE INDEX slack_outbox_thread_idx ON slack_outbox (thread_id, id) WHERE state IN ('pending', 'sending');

-- `/claude config` per channel: the options a start in this channel takes unless it gives its own.
CREATE TABLE slack_channel_defaults (
  team_id text NOT NULL,
  channel_id text NOT NULL,
  options jsonb NOT NULL,
  updated_by text NOT NULL,
  updated_at timestamptz(3) NOT NULL DEFAULT now(),
  PRIMARY KEY (team_id, channel_id)
);

-- `cco slack map U123 alice`: the Slack user acts as the orchestrator key named alice.
CREATE TABLE slack_user_map (
  user_id text PRIMARY KEY,
  key_name text NOT NULL,
  created_by text NOT NULL,
  created_at timestamptz(3) NOT NULL DEFAULT now()
);
