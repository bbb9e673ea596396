-- export: everything stored about one customer of a shop, for a privacy
-- data request (customers/data_request). Read-only.
--
-- KEYS: 1 due (routes the call to the partition)
-- ARGV: 1 prefix  2 shop  3 customer key
-- Returns {customer hash, order ids, timeline entries, {subject, context hash, {message hashes}}...}
local P, shop, cust = ARGV[1], ARGV[2], ARGV[3]
local out = {
  redis.call('HGETALL', P .. 'cu:' .. shop .. ':' .. cust),
  redis.call('SMEMBERS', P .. 'co:' .. shop .. ':' .. cust),
  redis.call('LRANGE', P .. 'tl:' .. shop .. ':' .. cust, 0, -1),
}
for _, sj in ipairs(redis.call('SMEMBERS', P .. 'cs:' .. shop .. ':' .. cust)) do
  local msgs = {}
  for _, id in ipairs(redis.call('SMEMBERS', P .. 'i:' .. shop .. ':' .. sj)) do
    local m = redis.call('HGETALL', P .. 'm:' .. id)
    m[#m + 1] = 'id'
    m[#m + 1] = id
    msgs[#msgs + 1] = m
  end
  out[#out + 1] = {sj, redis.call('HGETALL', P .. 'c:' .. shop .. ':' .. sj), msgs}
end
return out
