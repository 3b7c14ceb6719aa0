-- The audit log: who changed what, from where, under which request id. Append-only in the
-- database itself, so no code path (nor an operator's stray UPDATE) can rewrite history;
-- removing old entries is a deliberate act (drop the trigger in a migration), never a DELETE.
CREATE TABLE audit_log (
  id           bigserial PRIMARY KEY,
  at           timestamptz(3) NOT NULL DEFAULT now(),
  actor        text NOT NULL,
  actor_role   text NOT NULL,
  actor_key_id text,
  action       text NOT NULL,
  target       text,
  address      text,
  request_id   text,
  detail       jsonb NOT NULL DEFAULT '{}'::jsonb
);
-- Pages are newest first by id (keyset); each filter walks its own index in id order.
CREATE INDEX audit_log_actor_idx ON audit_log (actor, id);
CREATE INDEX audit_log_action_idx ON audit_log (action, id);
CREATE INDEX audit_log_target_idx ON audit_log (target, id) WHERE target IS NOT NULL;
CREATE INDEX audit_log_at_idx ON audit_log (at);

CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'audit_log is append-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
END
$$;
CREATE TRIGGER audit_log_no_update_delete BEFORE UPDATE OR DELETE ON audit_log
  FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
  FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
