-- Live events are kept uncompressed (issue 10). A row over about 2 kB (a Read tool's log, whole,
-- as its event's JSON) was compressed with pglz on insert, only to be read once or twice and
-- pruned within the hour. Leaving rows inline and uncompressed up to a full page costs a little
-- disk for rows that do not stay, and saves the hook batch path that compression on every Read.
-- Rows over a page are still compressed and moved out of line as before.
ALTER TABLE live_events SET (toast_tuple_target = 8160);
