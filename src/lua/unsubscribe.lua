-- unsubscribe: the customer wants no more promotional messages from this
-- shop. Marks them suppressed (no expiry: it outlives every other key of
-- the customer) and cancels their pending promotional messages at once.
-- Transactional messages (order confirmation, shipping) still go.
--
-- KEYS: 1 due
-- ARGV: 1 prefix  2 shop  3 customer key  4 now (ms)  5 (unused)  6 keep (s)
--       7 source ("link", "one-click", "provider", ...)
-- Returns the number of pending messages cancelled.
local P, shop, cust, now = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4])
redis.call('SET', P .. 'un:' .. shop .. ':' .. cust, ARGV[4] .. '|' .. ARGV[7])
local n = 0
local function sweep(sj)
  local l = loc_of(shop, sj)
  local k = P .. 's:' .. l
  local h, hit = hash_table(redis.call('HGETALL', k)), {}
  for f, v in pairs(h) do
    local mid = record_mid(f)
    local m = mid and rec_decode(v)
    if m and m.cl == 'promotional' and m.st == 'd' then hit[#hit + 1] = {f, mid, m} end
  end
  -- (changed after the walk: restamp adds fields to h, which next() forbids)
  for _, x in ipairs(hit) do
    local f, mid, m = x[1], x[2], x[3]
    redis.call('ZREM', KEYS[1], l .. mid)
    m.st = 'c'
    redis.call('HSET', k, f, rec_encode(m), unpack(restamp(h, mid, stamp(now, 'c', 'unsubscribed'))))
    n = n + 1
  end
  return h
end
for f in pairs(sweep('u:' .. cust)) do
  if string.sub(f, 1, 2) == 'j:' then sweep(string.sub(f, 3)) end
end
redis.call('HINCRBY', P .. 'stats', 'unsubscribed', 1)
return n
