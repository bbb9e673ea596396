-- unsubscribe: the customer wants no more promotional messages from this
-- shop. Marks them suppressed (no expiry: it outlives every other key of
-- the customer) and cancels their pending promotional messages at once.
-- Transactional messages (order confirmation, shipping) still go.
--
-- KEYS: 1 due
-- ARGV: 1 prefix  2 shop  3 customer key  4 now (ms)  5 timeline max  6 keep (s)
--       7 source ("link", "one-click", "provider", ...)
-- Returns the number of pending messages cancelled.
local P, shop, cust, now = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4])
local tlmax, keep = tonumber(ARGV[5]), tonumber(ARGV[6])
redis.call('SET', P .. 'un:' .. shop .. ':' .. cust, now)
local n = 0
local tl = P .. 'tl:' .. shop .. ':' .. cust
for _, sj in ipairs(redis.call('SMEMBERS', P .. 'cs:' .. shop .. ':' .. cust)) do
  local ik = P .. 'i:' .. shop .. ':' .. sj
  for _, id in ipairs(redis.call('SMEMBERS', ik)) do
    local mk = P .. 'm:' .. id
    local m = redis.call('HMGET', mk, 'cl', 'st', 'f', 's')
    if m[1] == 'promotional' and m[2] == 'due' then
      redis.call('ZREM', KEYS[1], id)
      redis.call('HSET', mk, 'st', 'cancelled', 'r', 'unsubscribed')
      redis.call('EXPIRE', mk, keep)
      n = n + 1
      if tlmax > 0 then
        redis.call('LPUSH', tl, cjson.encode({t = now, e = 'cancelled', id = id, f = m[3], s = m[4], r = 'unsubscribed'}))
      end
    end
  end
end
if tlmax > 0 then
  redis.call('LPUSH', tl, cjson.encode({t = now, e = 'unsubscribed', r = ARGV[7]}))
  redis.call('LTRIM', tl, 0, tlmax - 1)
  redis.call('EXPIRE', tl, keep)
end
redis.call('HINCRBY', P .. 'stats', 'unsubscribed', 1)
return n
