-- Schedules and budgets (README "Schedules", "Budgets"; ARCHITECTURE.md "Schedules and budgets").

-- A schedule starts a session from its template at every time its cron expression names, in its
-- time zone, as its owner. next_run_at is the next time it is due; a scheduler takes a due row
-- under FOR UPDATE SKIP LOCKED, records the run and moves next_run_at on in one transaction.
CREATE TABLE schedules (
  id uuid PRIMARY KEY,
  name text NOT NULL,
  owner text NOT NULL,
  cron text NOT NULL,
  timezone text NOT NULL,
  template jsonb NOT NULL,
  -- After downtime (a due time older than the grace): skip it, or run once for all missed times.
  missed varchar(10) NOT NULL DEFAULT 'skip' CHECK (missed IN ('skip', 'run_once')),
  status varchar(10) NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'paused')),
  next_run_at timestamptz(3),
  last_run_at timestamptz(3),
  created_at timestamptz(3) NOT NULL DEFAULT now(),
  updated_at timestamptz(3) NOT NULL DEFAULT now()
);
CREATE INDEX schedules_due_idx ON schedules (next_run_at) WHERE status = 'active';
CREATE INDEX schedules_owner_idx ON schedules (owner, created_at);

-- One row per run: the unique (schedule_id, scheduled_for) is what makes each run happen once,
-- however many schedulers see it due. session_id is chosen when the run is claimed, so a retry
-- after a crash makes the same session (or finds it made).
CREATE TABLE schedule_runs (
  id bigserial PRIMARY KEY,
  schedule_id uuid NOT NULL REFERENCES schedules (id) ON DELETE CASCADE,
  scheduled_for timestamptz(3) NOT NULL,
  session_id uuid NOT NULL,
  state varchar(10) NOT NULL DEFAULT 'claimed' CHECK (state IN ('claimed', 'started', 'failed')),
  error text,
  catch_up boolean NOT NULL DEFAULT false,
  created_at timestamptz(3) NOT NULL DEFAULT now(),
  UNIQUE (schedule_id, scheduled_for)
);
CREATE INDEX schedule_runs_claimed_idx ON schedule_runs (created_at) WHERE state = 'claimed';

-- Budgets: the most a session may spend (null: no limit of its own), and when it reached a budget
-- (its own, or its owner's for the day): it is then paused and new turns are refused until raised.
-- schedule_id links a scheduled run's session to its schedule (no foreign key: the session outlives it).
ALTER TABLE sessions
  ADD COLUMN budget_usd numeric(14, 6),
  ADD COLUMN budget_reached_at timestamptz(3),
  ADD COLUMN schedule_id uuid;
CREATE INDEX sessions_schedule_idx ON sessions (schedule_id, created_at) WHERE schedule_id IS NOT NULL;
-- GET /api/usage and the owner-per-day budget sum the cost of turns that ended in a time range.
CREATE INDEX turns_ended_idx ON turns (ended_at) WHERE cost_usd IS NOT NULL;
