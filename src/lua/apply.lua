-- apply: the whole effect of one webhook event, atomically.
-- Either the delivery is new and every operation happens, or it is a
-- duplicate and nothing does. Every key shares the partition's hash tag
-- (in ARGV[1]); KEYS[1] is the partition's due set so a cluster routes the
-- call to the right slot.
--
-- ARGV: 1 prefix "nudge:{p3}:"   2 now (ms)        3 delivery id ("" none)
--       4 dedupe ttl (s)         5 shop            6 customer key ("" none)
--       7 timeline max           8 keep ttl (s)    9 wake channel
--       10 event name            11 order id ("")
--       12 e-mail marketing consent ("1", "0", "" unknown)   13 SMS consent
--       then operations, each an opcode and a fixed number of arguments:
--       C subject part json ttl      merge a context part of a subject
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
--       S id due subject flow step channel class template cond move capmode discount
--                                    schedule, unless the id is known or the flow
--                                    is closed for the subject; move=1 moves a
--                                    pending message to the new due time
--       E n subject...               erase the customer (and these subjects)
-- Returns {"ok"|"dup", scheduled, cancelled}.
local P, now = ARGV[1], tonumber(ARGV[2])
local shop, cust, tlmax, keep = ARGV[5], ARGV[6], tonumber(ARGV[7]), tonumber(ARGV[8])
local due = KEYS[1]
local order_subject = ARGV[11] ~= '' and ('o:' .. ARGV[11]) or nil

if ARGV[3] ~= '' then
  if not redis.call('SET', P .. 'seen:' .. shop .. ':' .. ARGV[3], '1', 'NX', 'EX', ARGV[4]) then
    return {'dup', 0, 0}
  end
end

-- An event that names no customer (a carrier scan) belongs to its order's.
if order_subject then
  local ok = P .. 'oc:' .. shop .. ':' .. order_subject
  if cust == '' then
    cust = redis.call('GET', ok) or ''
  else
    redis.call('SET', ok, cust, 'EX', keep)
  end
end

local function timeline(ev, id, flow, step, reason, who)
  who = who or cust
  if who == nil or who == '' or tlmax <= 0 then return end
  local k = P .. 'tl:' .. shop .. ':' .. who
  redis.call('LPUSH', k, cjson.encode({t = now, e = ev, id = id, f = flow, s = step, r = reason}))
  redis.call('LTRIM', k, 0, tlmax - 1)
  redis.call('EXPIRE', k, keep)
end

local function keep_at_least(k, ttl)
  local cur = redis.call('TTL', k)
  if cur < ttl then redis.call('EXPIRE', k, ttl) end
end

-- The customer's orders, for first-order / returning conditions.
local norders = -1
if cust ~= '' then
  local ok = P .. 'co:' .. shop .. ':' .. cust
  if ARGV[10] == 'order_placed' and ARGV[11] ~= '' then
    redis.call('SADD', ok, ARGV[11])
    redis.call('EXPIRE', ok, keep)
    redis.call('HSET', P .. 'cu:' .. shop .. ':' .. cust, 'lo', now)
    redis.call('EXPIRE', P .. 'cu:' .. shop .. ':' .. cust, keep)
  end
  norders = redis.call('SCARD', ok)
  -- consent as the latest event states it; re-checked when each message is claimed
  local ck = P .. 'cu:' .. shop .. ':' .. cust
  if ARGV[12] ~= '' then redis.call('HSET', ck, 'ce', ARGV[12]) end
  if ARGV[13] ~= '' then redis.call('HSET', ck, 'cs', ARGV[13]) end
  if ARGV[12] ~= '' or ARGV[13] ~= '' then redis.call('EXPIRE', ck, keep) end
end

local cancelled = 0
local keepids = {}
local function cancel(subject, flow, reason, close)
  local ik = P .. 'i:' .. shop .. ':' .. subject
  for _, id in ipairs(redis.call('SMEMBERS', ik)) do
    local mk = P .. 'm:' .. id
    local m = redis.call('HMGET', mk, 'f', 'st', 's', 'cu')
    if (flow == '' or m[1] == flow) and not keepids[id] then
      if m[2] == 'due' or m[2] == 'inflight' then
        -- an in-flight message finishes its send; its ack sees the state
        redis.call('ZREM', due, id)
        redis.call('HSET', mk, 'st', 'cancelled', 'r', reason)
        if m[2] == 'due' then redis.call('EXPIRE', mk, keep) end
        cancelled = cancelled + 1
        timeline('cancelled', id, m[1], m[3], reason, m[4])
      end
    end
  end
  if close == '1' then
    local xk = P .. 'x:' .. shop .. ':' .. subject
    redis.call('SADD', xk, flow)
    redis.call('EXPIRE', xk, keep)
  end
end

local function erase_subject(subject)
  local ik = P .. 'i:' .. shop .. ':' .. subject
  for _, id in ipairs(redis.call('SMEMBERS', ik)) do
    redis.call('ZREM', due, id)
    redis.call('ZREM', P .. 'inflight', id)
    redis.call('DEL', P .. 'm:' .. id)
  end
  redis.call('DEL', ik, P .. 'c:' .. shop .. ':' .. subject, P .. 'x:' .. shop .. ':' .. subject)
end

local scheduled, earliest = 0, nil
local i = 14
while i <= #ARGV do
  local op = ARGV[i]
  if op == 'C' then
    local k = P .. 'c:' .. shop .. ':' .. ARGV[i + 1]
    redis.call('HSET', k, ARGV[i + 2], ARGV[i + 3])
    keep_at_least(k, tonumber(ARGV[i + 4]))
    i = i + 5
  elseif op == 'X' then
    -- ids the same call schedules again (a restart by the same order) stay
    keepids = {}
    for id in string.gmatch(ARGV[i + 5], '[^,]+') do keepids[id] = true end
    cancel(ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], ARGV[i + 4])
    keepids = {}
    i = i + 6
  elseif op == 'K' then
    local flow, reason = ARGV[i + 1], ARGV[i + 2]
    local subjects = {}
    local function alias(k)
      local v = redis.call('GET', P .. 'ka:' .. shop .. ':' .. k)
      if v then subjects[#subjects + 1] = v end
    end
    if ARGV[i + 3] ~= '' then subjects[1] = 'k:' .. ARGV[i + 3] end
    -- the first key that names a known cart wins: token, checkout id,
    -- cart token; only an order naming none falls back to the customer's carts
    if #subjects == 1 and redis.call('EXISTS', P .. 'i:' .. shop .. ':' .. subjects[1]) == 0 then
      subjects = {}
    end
    if #subjects == 0 and ARGV[i + 4] ~= '' then alias('id:' .. ARGV[i + 4]) end
    if #subjects == 0 and ARGV[i + 5] ~= '' then alias('ct:' .. ARGV[i + 5]) end
    if #subjects == 0 and cust ~= '' then
      for _, sj in ipairs(redis.call('SMEMBERS', P .. 'ka:' .. shop .. ':cu:' .. cust)) do
        subjects[#subjects + 1] = sj
      end
    end
    for _, sj in ipairs(subjects) do cancel(sj, flow, reason, '1') end
    -- the order may come before its checkout's webhook: remember the keys,
    -- so the cart is born closed when it does come
    if ARGV[i + 3] ~= '' then
      local xk = P .. 'x:' .. shop .. ':k:' .. ARGV[i + 3]
      redis.call('SADD', xk, flow)
      redis.call('EXPIRE', xk, keep)
    end
    if ARGV[i + 4] ~= '' then redis.call('SET', P .. 'kc:' .. shop .. ':id:' .. ARGV[i + 4], flow, 'EX', keep) end
    if ARGV[i + 5] ~= '' then redis.call('SET', P .. 'kc:' .. shop .. ':ct:' .. ARGV[i + 5], flow, 'EX', keep) end
    i = i + 6
  elseif op == 'A' then
    local subject = ARGV[i + 1]
    local ttl = keep + 4 * 86400
    -- an order that named this cart's checkout id or cart token came first
    local keys = {}
    if ARGV[i + 2] ~= '' then keys[#keys + 1] = 'id:' .. ARGV[i + 2] end
    if ARGV[i + 3] ~= '' then keys[#keys + 1] = 'ct:' .. ARGV[i + 3] end
    for _, k in ipairs(keys) do
      local closed = redis.call('GET', P .. 'kc:' .. shop .. ':' .. k)
      if closed then
        local xk = P .. 'x:' .. shop .. ':' .. subject
        redis.call('SADD', xk, closed)
        redis.call('EXPIRE', xk, keep)
      end
    end
    if ARGV[i + 2] ~= '' then redis.call('SET', P .. 'ka:' .. shop .. ':id:' .. ARGV[i + 2], subject, 'EX', ttl) end
    if ARGV[i + 3] ~= '' then redis.call('SET', P .. 'ka:' .. shop .. ':ct:' .. ARGV[i + 3], subject, 'EX', ttl) end
    if cust ~= '' then
      local ck = P .. 'ka:' .. shop .. ':cu:' .. cust
      redis.call('SADD', ck, subject)
      redis.call('EXPIRE', ck, ttl)
    end
    i = i + 4
  elseif op == 'E' then
    local n = tonumber(ARGV[i + 1])
    for j = 1, n do erase_subject(ARGV[i + 1 + j]) end
    if cust ~= '' then
      local sk = P .. 'cs:' .. shop .. ':' .. cust
      for _, sj in ipairs(redis.call('SMEMBERS', sk)) do erase_subject(sj) end
      redis.call('DEL', sk, P .. 'tl:' .. shop .. ':' .. cust, P .. 'cu:' .. shop .. ':' .. cust,
        P .. 'co:' .. shop .. ':' .. cust, P .. 'ka:' .. shop .. ':cu:' .. cust)
    end
    redis.call('HINCRBY', P .. 'stats', 'erased', 1)
    i = i + 2 + n
  elseif op == 'S' then
    local id, at, subject, flow, step = ARGV[i + 1], tonumber(ARGV[i + 2]), ARGV[i + 3], ARGV[i + 4], ARGV[i + 5]
    local cond, move, capmode, discount = ARGV[i + 9], ARGV[i + 10], ARGV[i + 11], ARGV[i + 12]
    local mk = P .. 'm:' .. id
    if redis.call('EXISTS', mk) == 1 then
      if move == '1' and redis.call('HGET', mk, 'st') == 'due' then
        -- the flow follows the latest event: move the pending step
        redis.call('ZADD', due, 'XX', at, id)
        redis.call('HSET', mk, 'd', at)
        if earliest == nil or at < earliest then earliest = at end
      end
    elseif (cond == 'first' and norders > 1) or (cond == 'returning' and norders < 2)
        or redis.call('SISMEMBER', P .. 'x:' .. shop .. ':' .. subject, flow) == 1 then
      -- refused: a condition does not hold, or the flow is closed for the subject
    else
      redis.call('HSET', mk, 'f', flow, 's', step, 'sh', shop, 'sj', subject, 'cu', cust,
        'ch', ARGV[i + 6], 'cl', ARGV[i + 7], 't', ARGV[i + 8], 'a', 0, 'st', 'due', 'd', at)
      if capmode ~= '' then redis.call('HSET', mk, 'cm', capmode) end
      if discount == '1' then redis.call('HSET', mk, 'dc', '1') end
      redis.call('ZADD', due, at, id)
      local ik = P .. 'i:' .. shop .. ':' .. subject
      redis.call('SADD', ik, id)
      keep_at_least(ik, math.floor((at - now) / 1000) + keep)
      if cust ~= '' then
        local sk = P .. 'cs:' .. shop .. ':' .. cust
        redis.call('SADD', sk, subject)
        keep_at_least(sk, math.floor((at - now) / 1000) + keep)
      end
      scheduled = scheduled + 1
      timeline('scheduled', id, flow, step, ARGV[10])
      if earliest == nil or at < earliest then earliest = at end
    end
    i = i + 13
  else
    return redis.error_reply('apply: unknown operation ' .. tostring(op))
  end
end

if scheduled > 0 then redis.call('HINCRBY', P .. 'stats', 'scheduled', scheduled) end
if cancelled > 0 then redis.call('HINCRBY', P .. 'stats', 'cancelled', cancelled) end
-- wake idle workers for anything due soon; later ones are found by polling
if earliest ~= nil and earliest <= now + 5000 then
  redis.call('PUBLISH', ARGV[9], P .. ' ' .. earliest)
end
return {'ok', scheduled, cancelled}
