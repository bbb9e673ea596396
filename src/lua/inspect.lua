-- inspect: messages by id, as field lists (f s sh sj cu ch cl t a st
-- and r/err/pid, at), for nudgectl. Read-only.
--
-- KEYS: 1 due (routes the call to the partition)
-- ARGV: 1 prefix  2... ids
-- Returns one list per id (empty when the message is gone).
local P = ARGV[1]
local out = {}
for j = 2, #ARGV do
  local id = ARGV[j]
  local mid = string.sub(id, 17)
  local h = hash_table(redis.call('HGETALL', P .. 's:' .. string.sub(id, 1, 16)))
  local m = rec_decode(h['m' .. mid])
  out[#out + 1] = m and msg_fields(h, mid, m) or {}
end
return out
