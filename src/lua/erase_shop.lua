-- erase_shop: one step of deleting every key of a shop (shop/redact), so
-- a large shop never blocks Redis for long: the caller repeats with the
-- returned cursor until it is "0". Pending messages leave due and
-- inflight with their subject's index.
--
-- KEYS: 1 due  2 inflight
-- ARGV: 1 prefix  2 shop  3 cursor  4 count
-- Returns {next cursor, keys deleted}
local P, shop = ARGV[1], ARGV[2]
local r = redis.call('SCAN', ARGV[3], 'MATCH', P .. '*:' .. shop .. ':*', 'COUNT', ARGV[4])
local n = 0
for _, k in ipairs(r[2]) do
  if string.sub(k, #P + 1, #P + 2) == 'i:' then
    for _, id in ipairs(redis.call('SMEMBERS', k)) do
      redis.call('ZREM', KEYS[1], id)
      redis.call('ZREM', KEYS[2], id)
      redis.call('DEL', P .. 'm:' .. id)
    end
  end
  n = n + redis.call('DEL', k)
end
return {r[1], n}
