-- API keys, dashboard sign-ins and session owners (issue "who may do what").
-- Only a SHA-256 of each key is kept (keys are 190 random bits, so a fast hash is
-- enough: nothing to brute-force), plus a display prefix to tell keys apart.
CREATE TABLE api_keys (
  id           uuid PRIMARY KEY,
  name         varchar(100) NOT NULL,
  role         varchar(20)  NOT NULL CHECK (role IN ('admin', 'user', 'viewer', 'hook')),
  -- Whose sessions this key's requests make: the key's name, or for a hook token its installing user.
  owner        varchar(100) NOT NULL,
  prefix       varchar(20)  NOT NULL,
  key_hash     char(64)     NOT NULL UNIQUE,
  created_at   timestamptz(3) NOT NULL DEFAULT now(),
  created_by   varchar(100),
  expires_at   timestamptz(3),
  revoked_at   timestamptz(3),
  last_used_at timestamptz(3)
);
-- A name names one live key (revoked ones keep theirs for the record).
CREATE UNIQUE INDEX api_keys_live_name_uq ON api_keys (name) WHERE revoked_at IS NULL;

-- Browser sign-ins (an HttpOnly cookie holds the token) and one-time sign-in links.
CREATE TABLE auth_tokens (
  token_hash char(64) PRIMARY KEY,
  kind       varchar(10) NOT NULL CHECK (kind IN ('browser', 'link')),
  key_id     uuid NOT NULL REFERENCES api_keys (id) ON DELETE CASCADE,
  created_at timestamptz(3) NOT NULL DEFAULT now(),
  expires_at timestamptz(3) NOT NULL,
  used_at    timestamptz(3)
);
CREATE INDEX auth_tokens_key_idx ON auth_tokens (key_id);

-- A user lists only its own sessions, newest activity first.
CREATE INDEX sessions_owner_updated_idx ON sessions (owner, updated_at DESC, id DESC);
