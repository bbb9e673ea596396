-- export: everything stored about one customer of a shop, for a privacy
-- data request (customers/data_request). Read-only.
--
-- KEYS: 1 due (routes the call to the partition)
-- ARGV: 1 prefix  2 shop  3 customer key
-- Returns {customer fields, order ids, timeline entries,
--          {subject, context parts, {messages}}...}
local P, shop, cust = ARGV[1], ARGV[2], ARGV[3]
local tl, ch = timeline_of(P, shop, cust)
local fields, orders = {}, {}
local subjects = {'u:' .. cust}
for f, v in pairs(ch) do
  if string.sub(f, 1, 4) == 'j:o:' then orders[#orders + 1] = string.sub(f, 5) end
  if string.sub(f, 1, 2) == 'j:' then
    subjects[#subjects + 1] = string.sub(f, 3)
  elseif f == 'ce' or f == 'cs' or f == 'lp' or f == 'n' then
    fields[#fields + 1] = f
    fields[#fields + 1] = v
  end
end
table.sort(orders)
local out = {fields, orders, tl}
for _, sj in ipairs(subjects) do
  local l = loc_of(shop, sj)
  local h = hash_table(redis.call('HGETALL', P .. 's:' .. l))
  local msgs = {}
  for f, v in pairs(h) do
    local mid = record_mid(f)
    local m = mid and rec_decode(v)
    if m then
      local mf = msg_fields(h, mid, m)
      mf[#mf + 1] = 'id'
      mf[#mf + 1] = l .. mid
      msgs[#msgs + 1] = mf
    end
  end
  if next(h) ~= nil then out[#out + 1] = {sj, ctx_fields(P, h), msgs} end
end
return out
