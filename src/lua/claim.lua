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
--       8 discount validity (ms)  9 keep ttl (s)  10 (unused)
-- Returns {{{id, token, {message fields...}, {context part, json, ...}}, ...}, next due score or ""}
local P, now, lease, n = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local now_s = ARGV[2]
local cap, validity, keep = tonumber(ARGV[6]), tonumber(ARGV[8]), tonumber(ARGV[9])

local quiet = {}
for shop, ch, untl in string.gmatch(ARGV[7], '([^|\n]+)|([^|\n]+)|(%d+)') do
  quiet[shop .. '|' .. ch] = tonumber(untl)
end

-- subject hashes read once per call (several messages share one)
local hashes = {}
local function subject(l)
  local h = hashes[l]
  if h == nil then
    h = hash_table(redis.call('HGETALL', P .. 's:' .. l))
    hashes[l] = h
  end
  return h
end

local expired = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now_s, 'LIMIT', 0, ARGV[4])
for _, id in ipairs(expired) do
  redis.call('ZREM', KEYS[2], id)
  local l, mid = string.sub(id, 1, 16), string.sub(id, 17)
  local h = subject(l)
  local m = rec_decode(h['m' .. mid])
  if m and m.st == 'i' then
    m.st = 'd'
    h['m' .. mid] = rec_encode(m)
    h['l' .. mid] = nil
    redis.call('HSET', P .. 's:' .. l, 'm' .. mid, h['m' .. mid])
    redis.call('HDEL', P .. 's:' .. l, 'l' .. mid)
    redis.call('ZADD', KEYS[1], now_s, id)
    redis.call('HINCRBY', P .. 'stats', 'reclaimed', 1)
  end
end

local out, ctxcache, counts = {}, {}, {}
local lease_s = I(now + lease)
local gone, leased = {}, {}    -- ZREM from due and ZADD to inflight, once each at the end
local custs = {}
local raw = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now_s, 'WITHSCORES', 'LIMIT', 0, ARGV[4])
for i = 1, #raw, 2 do
  local id, score = raw[i], raw[i + 1]
  local l, mid = string.sub(id, 1, 16), string.sub(id, 17)
  local k = P .. 's:' .. l
  local h = subject(l)
  local m = rec_decode(h['m' .. mid])
  local verdict, reason, later = 'send', nil, nil
  local cust = cust_of(h)

  if not m or m.st ~= 'd' then
    verdict = 'drop'
  else
    local q = quiet[(h.sh or '') .. '|' .. m.ch]
    if q ~= nil and q > now then
      verdict, reason, later = 'defer', 'quiet hours', q
    elseif m.cl == 'promotional' then
      local cl = loc_of(h.sh, 'u:' .. cust)
      local c = custs[cl]
      if c == nil then
        c = redis.call('HMGET', P .. 's:' .. cl, 'ce', 'cs', 'lp')
        c.un = redis.call('EXISTS', P .. 'un:' .. h.sh .. ':' .. cust) == 1
        custs[cl] = c
      end
      local consent = c[1]
      if m.ch == 'sms' then consent = c[2] end
      if c.un then
        verdict, reason = 'skip', 'unsubscribed'
      elseif consent ~= '1' then
        verdict, reason = 'skip', 'no marketing consent for ' .. m.ch
      elseif cap > 0 and h['p' .. mid] == nil and c[3] and now - tonumber(c[3]) < cap then
        -- (a message that already holds the window, being retried, is not capped by itself)
        if m.cm == 'skip' then
          verdict, reason = 'skip', 'frequency cap'
        else
          verdict, reason, later = 'defer', 'frequency cap', tonumber(c[3]) + cap
        end
      elseif cap > 0 and h['p' .. mid] == nil then
        c[3] = now_s
        redis.call('HSET', P .. 's:' .. cl, 'lp', now_s)
        redis.call('EXPIRE', P .. 's:' .. cl, ARGV[9], 'GT')
        h['p' .. mid] = now_s
        redis.call('HSET', k, 'p' .. mid, now_s)
      end
    end
  end

  if verdict == 'drop' then
    gone[#gone + 1] = id
  elseif verdict == 'skip' then
    gone[#gone + 1] = id
    m.st = 'k'
    h['m' .. mid] = rec_encode(m)
    local w = restamp(h, mid, stamp(now, 'k', reason))
    redis.call('HSET', k, 'm' .. mid, h['m' .. mid], unpack(w))
    counts.skipped = (counts.skipped or 0) + 1
  elseif verdict == 'defer' then
    redis.call('ZADD', KEYS[1], I(later), id)
    redis.call('HSET', k, unpack(restamp(h, mid, stamp(now, 'd', reason))))
    redis.call('EXPIRE', k, I(math.floor((later - now) / 1000) + keep), 'GT')
    counts.deferred = (counts.deferred or 0) + 1
  else
    gone[#gone + 1] = id
    local token = ARGV[5] .. ':' .. I((i + 1) / 2)
    m.st = 'i'
    m.a = m.a + 1
    h['m' .. mid] = rec_encode(m)
    h['l' .. mid] = token
    local set = {'m' .. mid, h['m' .. mid], 'l' .. mid, token}
    if m.dc and h['k' .. mid] == nil then
      local code = redis.call('LPOP', P .. 'codes:' .. h.sh)
      if code then
        h['k' .. mid] = code .. '|' .. I(now + validity)
        set[#set + 1] = 'k' .. mid
        set[#set + 1] = h['k' .. mid]
      end
    end
    redis.call('HSET', k, unpack(set))
    leased[#leased + 1] = lease_s
    leased[#leased + 1] = id
    local fields = msg_fields(h, mid, m, true)
    fields[#fields + 1] = 'd'
    fields[#fields + 1] = score
    out[#out + 1] = {id, token, fields, ctx_fields(P, h, ctxcache)}
  end
end
if #gone > 0 then redis.call('ZREM', KEYS[1], unpack(gone)) end
if #leased > 0 then redis.call('ZADD', KEYS[2], unpack(leased)) end
for what, c in pairs(counts) do redis.call('HINCRBY', P .. 'stats', what, I(c)) end
local nxt = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return {out, nxt[2] or ''}
