-- Live events name the process that wrote them (issue 10). A reader takes the JSON of its own
-- process's rows from memory (src/events/own-events.ts) instead of reading back, and parsing
-- again, what it wrote a moment before: with hooks arriving in batches, every tool log went to
-- live_events and came back whole, as many bytes again as the hook batch itself.
-- origin: a random id per process start; origin_n: that process's number for the event.
-- Rows of other processes, and rows written before this, are read as before.
ALTER TABLE live_events ADD COLUMN origin text, ADD COLUMN origin_n bigint;
