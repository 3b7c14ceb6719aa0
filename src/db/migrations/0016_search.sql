-- Full-text search over the conversation and the tool log (issue 16), and filter indexes.
--
-- Expression GIN indexes, not stored tsvector columns: adding a generated column rewrites
-- session_messages and command_logs (1M+ rows each on a busy server) and doubles what they
-- store; an expression index is built beside the table. The documents are wrapped in
-- IMMUTABLE SQL functions so queries and indexes name exactly the same expression.
--
-- 'simple' configuration: no stemming and no stop words. The text is code, paths, tool
-- output and prose in any language; exact words (identifiers, error codes, file names)
-- must match as typed, and an English stemmer would mangle them ("sessions" -> "session"
-- is fine, "cases" in an identifier is not). Only the first 100,000 characters of a
-- document are indexed: a tsvector is capped at 1 MB, and a longer text would make its
-- INSERT fail.
CREATE FUNCTION cco_message_doc(content text) RETURNS text
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  RETURN left(content, 100000);

CREATE FUNCTION cco_log_doc(input jsonb, result text) RETURNS text
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  RETURN left(coalesce(input::text, '') || E'\n' || coalesce(result, ''), 100000);

CREATE INDEX session_messages_fts_idx ON session_messages
  USING gin (to_tsvector('simple'::regconfig, cco_message_doc(content)));
CREATE INDEX command_logs_fts_idx ON command_logs
  USING gin (to_tsvector('simple'::regconfig, cco_log_doc(input, result)));

-- Filters of GET /api/sessions and GET /api/export: created-date ranges and source.
CREATE INDEX sessions_created_idx ON sessions (created_at DESC, id DESC);
CREATE INDEX sessions_source_updated_idx ON sessions (source, updated_at DESC, id DESC);
-- "Sessions that used tool X": a semi-join from the tool side.
CREATE INDEX command_logs_tool_session_idx ON command_logs (tool, session_id);
