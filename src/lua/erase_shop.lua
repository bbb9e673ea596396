-- erase_shop: one step of deleting every key of a shop (shop/redact), so
-- a large shop never blocks Redis for long: the caller repeats with the
-- returned cursor until it is "0". The shop's subject hashes take their
-- pending messages out of due, inflight and dead, and their context parts.
--
-- KEYS: 1 due  2 inflight
-- ARGV: 1 prefix  2 shop  3 cursor  4 count
-- Returns {next cursor, keys deleted}
local P, shop = ARGV[1], ARGV[2]
local r = redis.call('SCAN', ARGV[3], 'MATCH', P .. '*', 'COUNT', ARGV[4])
local n = 0
local mine = ':' .. shop .. ':'
for _, k in ipairs(r[2]) do
  local kind = string.sub(k, #P + 1, #P + 2)
  if kind == 's:' then
    local h = hash_table(redis.call('HGETALL', k))
    if h.sh == shop then
      local l = string.sub(k, #P + 3)
      for f in pairs(h) do
        local mid = record_mid(f)
        if mid then
          local id = l .. mid
          redis.call('ZREM', KEYS[1], id)
          redis.call('ZREM', KEYS[2], id)
          redis.call('ZREM', P .. 'dead', id)
        end
      end
      for part, pl in string.gmatch(h.c or '', '([^=,]+)=([^,]+)') do
        n = n + redis.call('DEL', P .. 'c:' .. pl .. ':' .. part)
      end
      n = n + redis.call('DEL', k)
    end
  elseif string.find(k, mine, #P + 1, true) or k == P .. 'codes:' .. shop then
    n = n + redis.call('DEL', k)
  end
end
return {r[1], n}
