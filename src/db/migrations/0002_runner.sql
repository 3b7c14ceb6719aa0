-- The runner: each user prompt the orchestrator runs is a turn. Turns queue per
-- session (one at a time) and across sessions (MAX_CONCURRENT_RUNS), and survive
-- restarts: queued turns run again, running ones are marked interrupted.

ALTER TABLE sessions
  ADD COLUMN managed       boolean NOT NULL DEFAULT false,
  ADD COLUMN turn_state    varchar(20) NOT NULL DEFAULT 'idle' CHECK (turn_state IN ('idle', 'queued', 'running')),
  ADD COLUMN run_options   jsonb NOT NULL DEFAULT '{}'::jsonb,
  ADD COLUMN cost_usd      numeric(14, 6) NOT NULL DEFAULT 0,
  ADD COLUMN input_tokens  bigint NOT NULL DEFAULT 0,
  ADD COLUMN output_tokens bigint NOT NULL DEFAULT 0,
  ADD COLUMN num_turns     integer NOT NULL DEFAULT 0,
  ADD COLUMN turns         integer NOT NULL DEFAULT 0;

CREATE TABLE turns (
  id              bigserial PRIMARY KEY,
  session_id      uuid NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
  message_id      bigint REFERENCES session_messages (id) ON DELETE SET NULL,
  prompt          text NOT NULL,
  source          varchar(50) NOT NULL DEFAULT 'api',
  status          varchar(20) NOT NULL DEFAULT 'queued'
                  CHECK (status IN ('queued', 'running', 'completed', 'error', 'interrupted', 'timed_out', 'cancelled')),
  created_at      timestamptz(3) NOT NULL DEFAULT now(),
  started_at      timestamptz(3),
  ended_at        timestamptz(3),
  pid             integer,
  cost_usd        numeric(14, 6),
  input_tokens    bigint,
  output_tokens   bigint,
  num_turns       integer,
  duration_ms     integer,
  is_error        boolean,
  subtype         varchar(60),
  terminal_reason varchar(60),
  error           text
);
CREATE INDEX turns_session_idx ON turns (session_id, id);
-- Start-up recovery looks up the unfinished turns only.
CREATE INDEX turns_open_idx ON turns (status, id) WHERE status IN ('queued', 'running');
