-- When the runner started Claude Code for a turn (set and committed before the process starts).
-- A turn whose runner died before that never reached the model, so it is queued again; one that
-- was launched may have run tools and is marked interrupted instead: a turn never runs twice.
ALTER TABLE turns ADD COLUMN launched_at timestamptz(3);
-- The reconciler looks for preparations whose process is gone every pass, on every runner: a partial
-- index keeps that a lookup of the few sessions preparing, not a scan of all sessions.
CREATE INDEX sessions_preparing_idx ON sessions (id) WHERE metadata->'workspace'->>'state' = 'preparing';
