-- Hook events were deduplicated by a hash of their payload, which also dropped genuine
-- repeats (the same Stop answer twice, a repeated Notification). From here on event_key
-- is the sender's own id for one event (the forwarder's x-cco-event-id, or an
-- Idempotency-Key header): a redelivery carries the same id and is stored once, two
-- identical events carry two ids. An event sent without an id has a NULL key, and NULLs
-- never conflict in the unique index, so such events are always stored.
-- Rows stored before keep their payload hashes (64 hex digits, which no forwarder id
-- looks like). The index stays on (session_id, event, event_key): narrowing it to
-- (session_id, event_key) could fail on those rows (two kinds of event, same payload).
ALTER TABLE session_events ALTER COLUMN event_key DROP NOT NULL;
