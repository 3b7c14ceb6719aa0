-- The GIN indexes of 0016 leave the hook's INSERT (issue 10).
--
-- A GIN index also holds rows whose vector is NULL (as a "null item"), so since 0018 every
-- stored tool log and message still went into both GIN indexes' pending lists, though it has no
-- vector yet; and when a pending list passed gin_pending_list_limit, the INSERT that found it so
-- merged it into the index before it could commit: a hook request stalled for tens of ms now and
-- then (bench:api's batch p99). Indexed only where a vector exists, the rows are written to the
-- GIN by the search indexer's UPDATE alone. Searches match `search @@ query`, which PostgreSQL
-- knows to be false for NULL, so they use these indexes as before.
DROP INDEX session_messages_search_idx;
DROP INDEX command_logs_search_idx;
CREATE INDEX session_messages_search_idx ON session_messages USING gin (search) WHERE search IS NOT NULL;
CREATE INDEX command_logs_search_idx ON command_logs USING gin (search) WHERE search IS NOT NULL;
