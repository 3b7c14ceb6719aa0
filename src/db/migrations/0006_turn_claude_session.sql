-- The Claude Code session a turn ran in. Claude Code reports cost as a running total of its
-- session, so a turn's own cost is that total less what the same Claude session's earlier turns
-- recorded; after a lost transcript the session continues in a new Claude session whose total
-- starts again from zero. Session totals become sums of their turns.
ALTER TABLE turns ADD COLUMN claude_session_id text;
-- Turns run before this column existed: the session's current Claude session is the best guess.
UPDATE turns t SET claude_session_id = s.claude_session_id
  FROM sessions s WHERE s.id = t.session_id AND t.init_at IS NOT NULL;
