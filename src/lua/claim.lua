-- claim: move up to N due messages of one partition to inflight, each with
-- a lease deadline and a fresh lease token, and return them with their
-- context. Expired leases (a worker that died holding them) go back to due
-- first. Runs atomically, so two workers never claim the same message.
--
-- The rules that depend on the customer's current state are applied here,
-- at send time and atomically with the claim:
--   * promotional messages need marketing consent for their channel and no
--     unsubscribe: otherwise they are skipped, with the reason recorded;
--   * quiet hours: a message of a shop and channel currently in quiet hours
--     (the worker computes which, from the shops' time zones) is deferred to
--     the end of them, never dropped;
--   * the frequency cap: a promotional message within the cap window of the
--     customer's last one is deferred to the window's end, or skipped, as its
--     flow says; otherwise it reserves the window;
--   * discount codes: a step that carries one takes the next code of the
--     shop's pool, once (a retry keeps the same code).
--
-- KEYS: 1 due  2 inflight
-- ARGV: 1 prefix  2 now (ms)  3 lease (ms)  4 batch size  5 lease token prefix
--       6 frequency cap window (ms, 0 = none)  7 quiet list: lines "shop|channel|until ms"
--       8 discount validity (ms)  9 keep ttl (s)  10 timeline max
-- Returns {{{id, token, {msg hash...}, {ctx hash...}}, ...}, next due score or ""}
local P, now, lease, n = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local cap, validity, keep, tlmax = tonumber(ARGV[6]), tonumber(ARGV[8]), tonumber(ARGV[9]), tonumber(ARGV[10])

local quiet = {}
for shop, ch, untl in string.gmatch(ARGV[7], '([^|\n]+)|([^|\n]+)|(%d+)') do
  quiet[shop .. '|' .. ch] = tonumber(untl)
end

local function timeline(shop, cust, ev, id, m, reason)
  if cust == nil or cust == '' or tlmax <= 0 then return end
  local k = P .. 'tl:' .. shop .. ':' .. cust
  redis.call('LPUSH', k, cjson.encode({t = now, e = ev, id = id, f = m.f, s = m.s, r = reason}))
  redis.call('LTRIM', k, 0, tlmax - 1)
  redis.call('EXPIRE', k, keep)
end

local expired = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now, 'LIMIT', 0, n)
for _, id in ipairs(expired) do
  redis.call('ZREM', KEYS[2], id)
  local mk = P .. 'm:' .. id
  if redis.call('HGET', mk, 'st') == 'inflight' then
    redis.call('HSET', mk, 'st', 'due')
    redis.call('HDEL', mk, 'lt')
    redis.call('ZADD', KEYS[1], now, id)
    redis.call('HINCRBY', P .. 'stats', 'reclaimed', 1)
  end
end

local out = {}
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, n)
for i, id in ipairs(ids) do
  local mk = P .. 'm:' .. id
  local raw = redis.call('HGETALL', mk)
  local m = {}
  for j = 1, #raw, 2 do m[raw[j]] = raw[j + 1] end
  local verdict, reason, later = 'send', nil, nil

  if m.st == 'due' and (m.cu == nil or m.cu == '') and string.sub(m.sj, 1, 2) == 'o:' then
    -- scheduled by an event that named no customer (a carrier scan): the
    -- order's customer may be known by now
    local c = redis.call('GET', P .. 'oc:' .. m.sh .. ':' .. m.sj)
    if c then
      m.cu = c
      redis.call('HSET', mk, 'cu', c)
    end
  end
  if m.st ~= 'due' then
    verdict = 'drop'
  else
    local q = quiet[m.sh .. '|' .. m.ch]
    if q ~= nil and q > now then
      verdict, reason, later = 'defer', 'quiet hours', q
    elseif m.cl == 'promotional' then
      local ck = P .. 'cu:' .. m.sh .. ':' .. m.cu
      local c = redis.call('HMGET', ck, 'ce', 'cs', 'lp')
      local consent = c[1]
      if m.ch == 'sms' then consent = c[2] end
      if redis.call('EXISTS', P .. 'un:' .. m.sh .. ':' .. m.cu) == 1 then
        verdict, reason = 'skip', 'unsubscribed'
      elseif consent ~= '1' then
        verdict, reason = 'skip', 'no marketing consent for ' .. m.ch
      elseif cap > 0 and m.cr == nil and c[3] and now - tonumber(c[3]) < cap then
        -- (a message that already holds the window, being retried, is not capped by itself)
        if m.cm == 'skip' then
          verdict, reason = 'skip', 'frequency cap'
        else
          verdict, reason, later = 'defer', 'frequency cap', tonumber(c[3]) + cap
        end
      elseif cap > 0 and m.cr == nil then
        redis.call('HSET', ck, 'lp', now)
        redis.call('EXPIRE', ck, keep)
        redis.call('HSET', mk, 'cr', now)
      end
    end
  end

  if verdict == 'drop' then
    redis.call('ZREM', KEYS[1], id)
  elseif verdict == 'skip' then
    redis.call('ZREM', KEYS[1], id)
    redis.call('HSET', mk, 'st', 'skipped', 'r', reason, 'at', now)
    redis.call('EXPIRE', mk, keep)
    redis.call('HINCRBY', P .. 'stats', 'skipped', 1)
    timeline(m.sh, m.cu, 'skipped', id, m, reason)
  elseif verdict == 'defer' then
    redis.call('ZADD', KEYS[1], later, id)
    redis.call('HSET', mk, 'r', reason)
    redis.call('HINCRBY', P .. 'stats', 'deferred', 1)
    timeline(m.sh, m.cu, 'deferred', id, m, reason)
  else
    redis.call('ZREM', KEYS[1], id)
    local token = ARGV[5] .. ':' .. i
    redis.call('HSET', mk, 'st', 'inflight', 'lt', token)
    redis.call('HINCRBY', mk, 'a', 1)
    if m.dc == '1' and m.code == nil then
      local code = redis.call('LPOP', P .. 'codes:' .. m.sh)
      if code then
        redis.call('HSET', mk, 'code', code, 'cx', now + validity)
      end
    end
    redis.call('ZADD', KEYS[2], now + lease, id)
    out[#out + 1] = {id, token, redis.call('HGETALL', mk), redis.call('HGETALL', P .. 'c:' .. m.sh .. ':' .. m.sj)}
  end
end
local nxt = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return {out, nxt[2] or ''}
