-- replay: put a dead-lettered message back to due, attempts reset, as if
-- newly scheduled (nudgectl dead replay). Refuses ids not in the dead set.
--
-- KEYS: 1 dead  2 due
-- ARGV: 1 prefix  2 id  3 now (ms)
-- Returns 1 when replayed, 0 when the id is not dead.
local P, id, now = ARGV[1], ARGV[2], tonumber(ARGV[3])
if not redis.call('ZSCORE', KEYS[1], id) then return 0 end
local mk = P .. 'm:' .. id
local m = redis.call('HMGET', mk, 'sh', 'sj')
redis.call('ZREM', KEYS[1], id)
if not m[1] then return 0 end
redis.call('PERSIST', mk)
redis.call('HSET', mk, 'st', 'due', 'a', 0, 'd', now, 'r', 'replayed')
redis.call('HDEL', mk, 'err', 'lt', 'at')
redis.call('ZADD', KEYS[2], now, id)
redis.call('SADD', P .. 'i:' .. m[1] .. ':' .. m[2], id)
redis.call('HINCRBY', P .. 'stats', 'replayed', 1)
return 1
