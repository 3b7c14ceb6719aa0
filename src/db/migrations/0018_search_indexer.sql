-- The search vectors of 0016 leave the write path (issue 10; ARCHITECTURE.md "Search and export").
--
-- As generated columns, every stored message and tool log computed its tsvector and updated a GIN
-- index inside the hook's INSERT: measured, that doubled the database's CPU per batched hook event
-- (0.083 -> 0.167 ms) and cut batched ingest by a third. The column becomes a plain one that a
-- background indexer (src/sessions/search-indexer.ts) fills in batches; a new row starts with none.
-- Searches read indexed rows through the GIN index and check rows not indexed yet by computing
-- their vector on the spot (the partial indexes below find those rows), so what was just stored
-- is found at once.
--
-- DROP EXPRESSION keeps every stored vector: an upgraded database needs no re-indexing.
ALTER TABLE session_messages ALTER COLUMN search DROP EXPRESSION;
ALTER TABLE command_logs ALTER COLUMN search DROP EXPRESSION;

-- The rows waiting for the indexer (and for the search's on-the-spot check). Small: the indexer
-- keeps them few, and an entry leaves the index when its row gets its vector.
CREATE INDEX session_messages_unindexed_idx ON session_messages (id) WHERE search IS NULL;
CREATE INDEX command_logs_unindexed_idx ON command_logs (id) WHERE search IS NULL;

-- Rows are written once today. Should a document ever change, its old vector must not outlive it:
-- the row goes back to the indexer (an UPDATE OF these columns only; inserts pay nothing).
CREATE FUNCTION cco_search_reset() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.search := NULL;
  RETURN NEW;
END $$;
CREATE TRIGGER session_messages_search_reset BEFORE UPDATE OF content ON session_messages
  FOR EACH ROW EXECUTE FUNCTION cco_search_reset();
CREATE TRIGGER command_logs_search_reset BEFORE UPDATE OF input, result ON command_logs
  FOR EACH ROW EXECUTE FUNCTION cco_search_reset();
