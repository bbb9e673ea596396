-- timeline: what happened to a customer of a shop, newest first (GET
-- /v1/timeline, nudgectl timeline): built from the records of the
-- customer's subjects, so nothing is written for it on the hot path.
--
-- KEYS: 1 due (routes the call to the partition)
-- ARGV: 1 prefix  2 shop  3 customer key  4 at most this many entries
-- Returns entries, each a JSON object {t, e, id, f, s, r}.
local out = timeline_of(ARGV[1], ARGV[2], ARGV[3])
local max = tonumber(ARGV[4])
while max > 0 and #out > max do out[#out] = nil end
return out
