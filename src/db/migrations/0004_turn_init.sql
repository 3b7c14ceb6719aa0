-- When Claude Code reported the start of a turn (system/init). A turn whose process
-- died before that never reached Claude Code's transcript, so recovery queues it again
-- instead of marking it interrupted.
ALTER TABLE turns ADD COLUMN init_at timestamptz(3);
