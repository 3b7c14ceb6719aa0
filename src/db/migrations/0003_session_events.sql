-- Hook events that are not tool executions (SessionStart, SessionEnd, Notification,
-- PreCompact, SubagentStop, and also UserPromptSubmit and Stop, which additionally
-- become messages). One row per event; the unique key makes a redelivered event a
-- no-op in the database itself, whichever process or retry sends it.
CREATE TABLE session_events (
  id         bigserial PRIMARY KEY,
  session_id uuid NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
  event      varchar(50)  NOT NULL,
  event_key  varchar(255) NOT NULL,
  data       jsonb NOT NULL DEFAULT '{}'::jsonb,
  timestamp  timestamptz(3) NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX session_events_key_uq ON session_events (session_id, event, event_key);
CREATE INDEX session_events_session_idx ON session_events (session_id, id);
