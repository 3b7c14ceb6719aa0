-- Review (issue 15): a session reads like a task, and each turn says what it changed.

-- A session's title: the first line of its first prompt (set when that prompt is stored), or
-- given at creation, or edited (PATCH). Shown instead of the folder path in lists, Slack and
-- webhooks. NULL until a session has a prompt (a hook-recorded session before its first one).
ALTER TABLE sessions ADD COLUMN title text CHECK (title IS NULL OR char_length(title) <= 200);

-- Existing sessions: the first line (leading blank lines skipped) of their first user message, cut at 120 characters.
UPDATE sessions s SET title = t.title
FROM (
  SELECT DISTINCT ON (session_id) session_id,
    nullif(left(btrim(substring(btrim(content, E' \t\r\n') FROM '^[^\n]*'), E' \t\r'), 120), '') AS title
  FROM session_messages
  WHERE direction = 'user'
  ORDER BY session_id, id
) t
WHERE t.session_id = s.id AND s.title IS NULL;

-- What a turn changed in its workspace, measured when it ended: the git tree of the workspace then
-- (`tree`), the tree or commit it is compared with (`from`: the previous turn's tree, or the commit
-- the workspace started from), and files changed with line counts. NULL for turns before this
-- migration, turns of sessions without a workspace, and turns whose scan failed.
ALTER TABLE turns ADD COLUMN changes jsonb;
