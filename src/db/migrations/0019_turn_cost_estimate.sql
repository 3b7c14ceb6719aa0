-- A running turn's cost so far (src/budgets/running-spend.ts): the estimate from the usage of each
-- model response, stored as it grows. The per-owner daily budget counts it for turns still running,
-- so an owner's turns running at once are held to the budget together, on any server. cost_usd
-- stays Claude Code's own figure, written when the turn ends; from then on the estimate is unused.
ALTER TABLE turns ADD COLUMN cost_estimate_usd numeric(14, 6);
