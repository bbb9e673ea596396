-- ack: the outcome of one send. Only the holder of the current lease token
-- may report it: after a lease expired and another worker claimed the
-- message, the first worker's late ack is refused (returns 0), so a
-- message is never both retried and sent by two owners.
--
-- KEYS: 1 inflight  2 due  3 dead
-- ARGV: 1 prefix  2 id  3 lease token  4 outcome (sent|retry|dead|release|skip)
--       5 now (ms)  6 retry at (ms)  7 info (provider id or error)
--       8 keep ttl (s)  9 timeline max
-- Returns 1 when applied, 0 when the token is stale.
local P, id, outcome, now = ARGV[1], ARGV[2], ARGV[4], tonumber(ARGV[5])
local keep, tlmax = tonumber(ARGV[8]), tonumber(ARGV[9])
local mk = P .. 'm:' .. id

if redis.call('HGET', mk, 'lt') ~= ARGV[3] then
  redis.call('HINCRBY', P .. 'stats', 'stale_acks', 1)
  return 0
end
redis.call('ZREM', KEYS[1], id)
redis.call('HDEL', mk, 'lt')
local m = redis.call('HMGET', mk, 'st', 'sh', 'sj', 'cu', 'f', 's')
local st, shop, subject, cust = m[1], m[2], m[3], m[4]

local function timeline(ev, reason)
  if cust == nil or cust == '' or tlmax <= 0 then return end
  local k = P .. 'tl:' .. shop .. ':' .. cust
  redis.call('LPUSH', k, cjson.encode({t = now, e = ev, id = id, f = m[5], s = m[6], r = reason}))
  redis.call('LTRIM', k, 0, tlmax - 1)
  redis.call('EXPIRE', k, keep)
end

-- A finished message stays in its subject's index until its hash expires,
-- so erasing a customer or a shop finds it (the index outlives it).
local function finish(state, field, info)
  redis.call('HSET', mk, 'st', state, field, info, 'at', now)
  redis.call('EXPIRE', mk, keep)
  local ik = P .. 'i:' .. shop .. ':' .. subject
  if redis.call('TTL', ik) < keep then redis.call('EXPIRE', ik, keep) end
end

if outcome == 'sent' then
  finish('sent', 'pid', ARGV[7])
  timeline('sent', ARGV[7])
elseif outcome == 'skip' then
  finish('skipped', 'r', ARGV[7])
  timeline('skipped', ARGV[7])
elseif st == 'cancelled' then
  -- cancelled while in flight: it must not come back
  redis.call('EXPIRE', mk, keep)
  outcome = 'cancelled'
elseif outcome == 'retry' then
  redis.call('HSET', mk, 'st', 'due', 'err', ARGV[7])
  redis.call('ZADD', KEYS[2], tonumber(ARGV[6]), id)
  timeline('deferred', ARGV[7])
elseif outcome == 'dead' then
  redis.call('HSET', mk, 'st', 'dead', 'err', ARGV[7], 'at', now)
  redis.call('ZADD', KEYS[3], now, id)
  timeline('failed', ARGV[7])
elseif outcome == 'release' then
  -- shutting down before the send finished: not an attempt
  redis.call('HSET', mk, 'st', 'due')
  redis.call('HINCRBY', mk, 'a', -1)
  redis.call('ZADD', KEYS[2], now, id)
else
  return redis.error_reply('ack: unknown outcome ' .. tostring(outcome))
end
redis.call('HINCRBY', P .. 'stats', outcome, 1)
return 1
