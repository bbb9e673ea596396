-- apply: the whole effect of one webhook event, atomically.
-- Either the delivery is new and every operation happens, or it is a
-- duplicate and nothing does. Every key shares the partition's hash tag
-- (in ARGV[1]); KEYS[1] is the partition's due set so a cluster routes the
-- call to the right slot. Reads come first, writes are gathered per
-- subject hash and issued once at the end (one HSET and one EXPIRE each).
--
-- ARGV: 1 prefix "nudge:{p3}:"   2 now (ms)        3 delivery id ("" none)
--       4 dedupe ttl (s)         5 shop            6 customer key ("" none)
--       7 (unused)               8 keep ttl (s)    9 wake channel
--       10 event name            11 order id ("")
--       12 e-mail marketing consent ("1", "0", "" unknown)   13 SMS consent
--       then operations, each an opcode and a fixed number of arguments:
--       C subject part json ttl      set a context part of a subject; json
--                                    "@<subject>" refers to that subject's part
--                                    set earlier in the call (stored once)
--       X subject flow reason close keep
--                                    cancel pending messages of a flow ("" = all)
--                                    but the ids in keep (comma-separated);
--                                    close=1 also refuses the flow for the subject
--       K flow reason token checkout_id cart_token
--                                    an order closes its cart: found by checkout
--                                    token, else checkout id, else cart token,
--                                    else every open cart of the customer
--       A subject checkout_id cart_token
--                                    remember keys a later order may name a cart by
--       S id due subject flow record cond move
--                                    schedule (record: _lib.lua's encoding, built
--                                    by sched.c), unless the id is known or the
--                                    flow is closed for the subject; move=1
--                                    moves a pending message to the new due time
--       E n subject...               erase the customer (and these subjects)
-- Returns {"ok"|"dup", scheduled, cancelled}.
local P, now, now_s = ARGV[1], tonumber(ARGV[2]), ARGV[2]
local shop, cust, keep = ARGV[5], ARGV[6], tonumber(ARGV[8])
local event = ARGV[10]
local due = KEYS[1]
local order_subject = ARGV[11] ~= '' and ('o:' .. ARGV[11]) or nil

if ARGV[3] ~= '' then
  if not redis.call('SET', P .. 'seen:' .. shop .. ':' .. ARGV[3], '1', 'NX', 'EX', ARGV[4]) then
    return {'dup', 0, 0}
  end
end

-- Subject hashes read once, written once at the end.
local subjects, order = {}, {}
local function subject(sj, extra)
  local s = subjects[sj]
  if s then return s end
  local l = loc_of(shop, sj)
  local k = P .. 's:' .. l
  local h = redis.call('HMGET', k, 'sh', 'cu', 'x', 'c', 'n', extra or 'sh')
  s = {sj = sj, loc = l, k = k, new = not h[1], cu = h[2] or '', x = h[3] or '',
       c = h[4] or '', n = tonumber(h[5] or '0'), extra = h[6], set = {}, ttl = 0, dirty = false}
  if s.new then s.set.sh = shop; s.set.sj = sj end
  subjects[sj] = s
  order[#order + 1] = s
  return s
end
local function put(s, field, value, ttl)
  s.set[field] = value
  s.dirty = true
  if (ttl or keep) > s.ttl then s.ttl = ttl or keep end
end
local function records(s)
  if s.all == nil then
    s.all = s.new and {} or hash_table(redis.call('HGETALL', s.k))
  end
  return s.all
end

-- An event that names no customer (a carrier scan) belongs to its order's.
if order_subject then
  local os = subject(order_subject)
  if cust == '' then cust = os.cu elseif os.cu ~= cust then put(os, 'cu', cust) end
end

-- The customer's own hash: consent, orders, subjects.
local placed = event == 'order_placed' and order_subject
local cs = cust ~= '' and subject('u:' .. cust, placed and ('j:' .. order_subject) or nil) or nil
local norders = -1
if cs then
  norders = cs.n
  if placed then
    -- the customer's orders are the j:o: fields; n counts them
    cs.listed = {[order_subject] = true}
    if not cs.extra then
      norders = norders + 1
      put(cs, 'n', I(norders))
      put(cs, 'j:' .. order_subject, '')
    end
  end
  if ARGV[12] ~= '' then put(cs, 'ce', ARGV[12]) end
  if ARGV[13] ~= '' then put(cs, 'cs', ARGV[13]) end
end
local function belongs(s)
  -- the customer's hash lists its subjects, for erasure and carts
  if cs and s ~= cs then
    if s.cu ~= cust then put(s, 'cu', cust); s.cu = cust end
    if not cs.listed then cs.listed = {} end
    if not cs.listed[s.sj] then
      cs.listed[s.sj] = true
      put(cs, 'j:' .. s.sj, '')
    end
  end
end

local function closed(s, flow)
  return string.find(s.x, '|' .. flow .. '|', 1, true) ~= nil
end
local function close(s, flow)
  if not closed(s, flow) then
    s.x = (s.x == '' and '|' or s.x) .. flow .. '|'
    put(s, 'x', s.x)
  end
end

local cancelled = 0
local function cancel(s, flow, reason, doclose, keepids)
  local h, hit = records(s), {}
  for f, v in pairs(h) do
    local mid = record_mid(f)
    local m = mid and rec_decode(v)
    if m and (flow == '' or m.f == flow) and not (keepids and keepids[s.loc .. mid])
        and (m.st == 'd' or m.st == 'i') then
      hit[#hit + 1] = {mid, m}
    end
  end
  -- (changed after the walk: restamp adds fields to h, which next() forbids)
  for _, x in ipairs(hit) do
    local mid, m = x[1], x[2]
    -- an in-flight message finishes its send; its ack sees the state
    redis.call('ZREM', due, s.loc .. mid)
    m.st = 'c'
    h['m' .. mid] = rec_encode(m)
    put(s, 'm' .. mid, h['m' .. mid])
    local w = restamp(h, mid, stamp(now, 'c', reason))
    for j = 1, #w, 2 do put(s, w[j], w[j + 1]) end
    cancelled = cancelled + 1
  end
  if doclose == '1' then close(s, flow) end
end

local function erase(s)
  for f in pairs(records(s)) do
    local mid = record_mid(f)
    if mid then
      local id = s.loc .. mid
      redis.call('ZREM', due, id)
      redis.call('ZREM', P .. 'inflight', id)
      redis.call('ZREM', P .. 'dead', id)
    end
  end
  for part, l in string.gmatch(s.c, '([^=,]+)=([^,]+)') do
    redis.call('DEL', P .. 'c:' .. l .. ':' .. part)
  end
  redis.call('DEL', s.k)
  s.erased = true
end

local scheduled, earliest, earliest_s = 0, nil, nil
local zadd = {}     -- new messages, added to due in one call
local i = 14
while i <= #ARGV do
  local op = ARGV[i]
  if op == 'S' then
    local id, at, s = ARGV[i + 1], tonumber(ARGV[i + 2]), subject(ARGV[i + 3])
    local flow, rec = ARGV[i + 4], ARGV[i + 5]
    local cond, move = ARGV[i + 6], ARGV[i + 7]
    local mid = string.sub(id, 17)
    local cur = (not s.new) and (s.all and s.all['m' .. mid] or redis.call('HGET', s.k, 'm' .. mid)) or s.set['m' .. mid]
    if cur then
      if move == '1' and string.sub(cur, 1, 1) == 'd' then
        -- the flow follows the latest event: move the pending step
        redis.call('ZADD', due, 'XX', at, id)
        local t = s.all and s.all['t' .. mid] or redis.call('HGET', s.k, 't' .. mid) or ''
        local t0, ev0 = string.match(t, '^(%d+)|%d*|(.*)$')
        put(s, 't' .. mid, (t0 or now_s) .. '|' .. ARGV[i + 2] .. '|' .. (ev0 or event))
        if earliest == nil or at < earliest then earliest, earliest_s = at, ARGV[i + 2] end
        local ttl = math.floor((at - now) / 1000) + keep
        if ttl > s.ttl then s.ttl = ttl end
      end
    elseif (cond == 'first' and norders > 1) or (cond == 'returning' and norders < 2)
        or closed(s, flow) then
      -- refused: a condition does not hold, or the flow is closed for the subject
    else
      local ttl = math.floor((at - now) / 1000) + keep
      put(s, 'm' .. mid, rec, ttl)
      put(s, 't' .. mid, now_s .. '|' .. ARGV[i + 2] .. '|' .. event, ttl)
      if s.all then s.all['m' .. mid] = rec end
      zadd[#zadd + 1] = ARGV[i + 2]
      zadd[#zadd + 1] = id
      belongs(s)
      scheduled = scheduled + 1
      if earliest == nil or at < earliest then earliest, earliest_s = at, ARGV[i + 2] end
    end
    i = i + 8
  elseif op == 'C' then
    local s, part, json, ttl = subject(ARGV[i + 1]), ARGV[i + 2], ARGV[i + 3], tonumber(ARGV[i + 4])
    local l
    if string.sub(json, 1, 1) ~= '@' then
      -- the part lives as long as the last message that needs it
      local k = P .. 'c:' .. s.loc .. ':' .. part
      local cur = s.new and -2 or redis.call('TTL', k)
      redis.call('SET', k, json, 'EX', I(cur > ttl and cur or ttl))
      l = s.loc
    else
      -- the same part of a subject this call wrote just before (an
      -- order's, for its customer): referenced, not copied; the same ttl
      l = subject(string.sub(json, 2)).loc
    end
    local c = s.c:gsub('^' .. part .. '=[^,]*,?', ''):gsub(',' .. part .. '=[^,]*', '')
    s.c = (c == '' and '' or c .. ',') .. part .. '=' .. l
    put(s, 'c', s.c, ttl)
    belongs(s)
    i = i + 5
  elseif op == 'X' then
    -- ids the same call schedules again (a restart by the same order) stay
    local keepids = {}
    for id in string.gmatch(ARGV[i + 5], '[^,]+') do keepids[id] = true end
    cancel(subject(ARGV[i + 1]), ARGV[i + 2], ARGV[i + 3], ARGV[i + 4], keepids)
    i = i + 6
  elseif op == 'K' then
    local flow, reason, token, cid, ctok = ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], ARGV[i + 4], ARGV[i + 5]
    local found = {}
    -- the first key that names a known cart wins: token, checkout id,
    -- cart token; only an order naming none falls back to the customer's carts
    local ks = token ~= '' and subject('k:' .. token) or nil
    if ks and not ks.new then found[1] = ks.sj end
    if #found == 0 and (cid ~= '' or ctok ~= '') then
      -- one read for both aliases; the checkout id's wins
      local v = redis.call('MGET', P .. 'ka:' .. shop .. ':id:' .. cid, P .. 'ka:' .. shop .. ':ct:' .. ctok)
      if cid ~= '' and v[1] then found[1] = v[1] elseif ctok ~= '' and v[2] then found[1] = v[2] end
    end
    if #found == 0 and cs then
      for f in pairs(records(cs)) do
        if string.sub(f, 1, 4) == 'j:k:' then found[#found + 1] = string.sub(f, 3) end
      end
    end
    for _, sj in ipairs(found) do cancel(subject(sj), flow, reason, '1') end
    -- the order may come before its checkout's webhook: the cart is born
    -- closed when it does come (by its token; by id or cart token when the
    -- order names no token)
    local marks = {}
    if ks then
      if ks.new then marks[1] = ks.sj end
    else
      if cid ~= '' then marks[#marks + 1] = 'id:' .. cid end
      if ctok ~= '' then marks[#marks + 1] = 'ct:' .. ctok end
    end
    for _, mk in ipairs(marks) do
      redis.call('SET', P .. 'kc:' .. shop .. ':' .. mk, flow, 'EX', ARGV[8])
      -- listed with the customer, so erasing the customer takes it too
      if cs then put(cs, 'q:' .. mk, '') end
    end
    i = i + 6
  elseif op == 'A' then
    local s, cid, ctok = subject(ARGV[i + 1]), ARGV[i + 2], ARGV[i + 3]
    local ttl = keep + 4 * 86400
    -- an order that named this cart (its token, checkout id or cart token) came first
    if s.new then
      local names = {s.sj}
      if cid ~= '' then names[#names + 1] = 'id:' .. cid end
      if ctok ~= '' then names[#names + 1] = 'ct:' .. ctok end
      for _, k in ipairs(names) do
        local flow = redis.call('GET', P .. 'kc:' .. shop .. ':' .. k)
        if flow then close(s, flow) end
      end
    end
    if cid ~= '' then redis.call('SET', P .. 'ka:' .. shop .. ':id:' .. cid, s.sj, 'EX', I(ttl)) end
    if ctok ~= '' then redis.call('SET', P .. 'ka:' .. shop .. ':ct:' .. ctok, s.sj, 'EX', I(ttl)) end
    belongs(s)
    i = i + 4
  elseif op == 'E' then
    local n = tonumber(ARGV[i + 1])
    for j = 1, n do erase(subject(ARGV[i + 1 + j])) end
    if cs then
      for f in pairs(records(cs)) do
        if string.sub(f, 1, 2) == 'j:' then erase(subject(string.sub(f, 3))) end
        if string.sub(f, 1, 2) == 'q:' then redis.call('DEL', P .. 'kc:' .. shop .. ':' .. string.sub(f, 3)) end
      end
      erase(cs)
    end
    redis.call('HINCRBY', P .. 'stats', 'erased', 1)
    i = i + 2 + n
  else
    return redis.error_reply('apply: unknown operation ' .. tostring(op))
  end
end

if #zadd > 0 then redis.call('ZADD', due, unpack(zadd)) end
-- the writes: one HSET and one EXPIRE per subject hash touched
for _, s in ipairs(order) do
  if s.dirty and not s.erased then
    local args = {}
    for f, v in pairs(s.set) do args[#args + 1] = f; args[#args + 1] = v end
    redis.call('HSET', s.k, unpack(args))
    if s.new then
      redis.call('EXPIRE', s.k, I(s.ttl))
    else
      redis.call('EXPIRE', s.k, I(s.ttl), 'GT')
    end
  elseif s.ttl > 0 and not s.new and not s.erased then
    redis.call('EXPIRE', s.k, I(s.ttl), 'GT')
  end
end

if scheduled > 0 then redis.call('HINCRBY', P .. 'stats', 'scheduled', I(scheduled)) end
if cancelled > 0 then redis.call('HINCRBY', P .. 'stats', 'cancelled', I(cancelled)) end
-- wake idle workers for anything due soon; later ones are found by polling
if earliest ~= nil and earliest <= now + 5000 then
  redis.call('PUBLISH', ARGV[9], P .. ' ' .. earliest_s)
end
return {'ok', scheduled, cancelled}
