-- replay: put a dead-lettered message back to due, attempts reset, as if
-- newly scheduled (nudgectl dead replay). Refuses ids not in the dead set.
--
-- KEYS: 1 dead  2 due
-- ARGV: 1 prefix  2 id  3 now (ms)  4 keep ttl (s)
-- Returns 1 when replayed, 0 when the id is not dead.
local P, id, now = ARGV[1], ARGV[2], tonumber(ARGV[3])
if not redis.call('ZSCORE', KEYS[1], id) then return 0 end
redis.call('ZREM', KEYS[1], id)
local mid = string.sub(id, 17)
local k = P .. 's:' .. string.sub(id, 1, 16)
local h = redis.call('HMGET', k, 'm' .. mid, 'r' .. mid, 'h' .. mid)
local m = rec_decode(h[1] or nil)
if not m then return 0 end
m.st, m.a = 'd', 0
local cur = {['r' .. mid] = h[2] or nil, ['h' .. mid] = h[3] or nil}
redis.call('HSET', k, 'm' .. mid, rec_encode(m), unpack(restamp(cur, mid, stamp(now, 'p', 'replayed'))))
redis.call('HDEL', k, 'l' .. mid)
local keep = tonumber(ARGV[4] or '0') or 0
if redis.call('TTL', k) < keep then redis.call('EXPIRE', k, keep) end
redis.call('ZADD', KEYS[2], now, id)
redis.call('HINCRBY', P .. 'stats', 'replayed', 1)
return 1
