-- Live events (GET /api/events) shared by every process on this database: each process writes
-- the events of its own commits here and reads everyone's back in one global order, (xid, seq).
-- UNLOGGED: no WAL for a stream that is only worth minutes. A PostgreSQL crash empties the
-- table; clients coming back with an id from before then get `reset` and refetch, which is what
-- they would do after any long absence. Rows are pruned after LIVE_EVENTS_RETENTION_S.
CREATE UNLOGGED TABLE live_events (
  xid        xid8 NOT NULL DEFAULT pg_current_xact_id(),
  seq        bigserial NOT NULL,
  session_id text NOT NULL,
  type       text NOT NULL,
  json       text NOT NULL,
  at         timestamptz NOT NULL DEFAULT now()
);
-- Readers and the pruner walk the table in (xid, seq) order only.
CREATE INDEX live_events_position_idx ON live_events (xid, seq);
