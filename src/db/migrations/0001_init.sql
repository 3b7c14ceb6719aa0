-- Sessions, their conversation and tool logs, and Slack thread mapping (PRD "Data Model").
-- Timestamps keep millisecond precision so they round-trip exactly through JavaScript
-- Dates, which keyset pagination cursors depend on.

CREATE TABLE sessions (
  id                uuid PRIMARY KEY,
  claude_session_id varchar(255) UNIQUE,
  project_path      varchar(500) NOT NULL,
  project_type      varchar(50)  NOT NULL CHECK (project_type IN ('github', 'local', 'worktree', 'e2b')),
  status            varchar(50)  NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'paused', 'completed', 'error')),
  source            varchar(50)  NOT NULL DEFAULT 'api',
  owner             varchar(255),
  created_at        timestamptz(3) NOT NULL DEFAULT now(),
  updated_at        timestamptz(3) NOT NULL DEFAULT now(),
  metadata          jsonb NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX sessions_updated_idx ON sessions (updated_at DESC, id DESC);
CREATE INDEX sessions_status_updated_idx ON sessions (status, updated_at DESC, id DESC);
CREATE INDEX sessions_type_updated_idx ON sessions (project_type, updated_at DESC, id DESC);

CREATE TABLE session_messages (
  id         bigserial PRIMARY KEY,
  session_id uuid NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
  direction  varchar(10) NOT NULL CHECK (direction IN ('user', 'assistant', 'system')),
  content    text NOT NULL,
  source     varchar(50) NOT NULL CHECK (source IN ('slack', 'dashboard', 'n8n', 'cli', 'api', 'schedule')),
  timestamp  timestamptz(3) NOT NULL DEFAULT now(),
  metadata   jsonb NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX session_messages_session_idx ON session_messages (session_id, id);

CREATE TABLE command_logs (
  id               bigserial PRIMARY KEY,
  session_id       uuid NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
  tool_use_id      varchar(255),
  tool             varchar(100) NOT NULL,
  input            jsonb,
  result           text,
  result_truncated boolean NOT NULL DEFAULT false,
  result_size      integer,
  status           varchar(20) NOT NULL CHECK (status IN ('completed', 'error')),
  duration_ms      integer,
  timestamp        timestamptz(3) NOT NULL DEFAULT now(),
  metadata         jsonb NOT NULL DEFAULT '{}'::jsonb
);
-- One row per tool call: a redelivered hook event for the same call is ignored.
CREATE UNIQUE INDEX command_logs_tool_use_uq ON command_logs (session_id, tool_use_id);
CREATE INDEX command_logs_session_idx ON command_logs (session_id, id);
CREATE INDEX command_logs_session_tool_idx ON command_logs (session_id, tool, id);
CREATE INDEX command_logs_session_status_idx ON command_logs (session_id, status, id);

CREATE TABLE slack_threads (
  thread_ts  varchar(50) PRIMARY KEY,
  session_id uuid NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
  channel_id varchar(50) NOT NULL,
  created_at timestamptz(3) NOT NULL DEFAULT now()
);
CREATE INDEX slack_threads_session_idx ON slack_threads (session_id);
