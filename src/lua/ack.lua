-- ack: the outcome of one send. Only the holder of the current lease token
-- may report it: after a lease expired and another worker claimed the
-- message, the first worker's late ack is refused (returns 0), so a
-- message is never both retried and sent by two owners.
--
-- KEYS: 1 inflight  2 due  3 dead
-- ARGV: 1 prefix  2 id  3 lease token  4 outcome (sent|retry|dead|release|skip)
--       5 now (ms)  6 retry at (ms)  7 info (provider id or error)
--       8 keep ttl (s)  9 (unused)
-- Returns 1 when applied, 0 when the token is stale.
local P, id, outcome, now = ARGV[1], ARGV[2], ARGV[4], tonumber(ARGV[5])
local keep = tonumber(ARGV[8])
local mid = string.sub(id, 17)
local k = P .. 's:' .. string.sub(id, 1, 16)

local h = redis.call('HMGET', k, 'l' .. mid, 'm' .. mid, 'r' .. mid, 'h' .. mid)
if h[1] ~= ARGV[3] then
  redis.call('HINCRBY', P .. 'stats', 'stale_acks', 1)
  return 0
end
local m = rec_decode(h[2])
if not m then return redis.error_reply('ack: message ' .. id .. ' has no record') end
redis.call('ZREM', KEYS[1], id)

-- the record, its outcome and the lease given back, in one HSET
local function set(st, code, text)
  m.st = st
  if code then
    local cur = {['r' .. mid] = h[3] or nil, ['h' .. mid] = h[4] or nil}
    redis.call('HSET', k, 'm' .. mid, rec_encode(m), 'l' .. mid, '',
      unpack(restamp(cur, mid, stamp(now, code, text))))
  else
    redis.call('HSET', k, 'm' .. mid, rec_encode(m), 'l' .. mid, '')
  end
end

if outcome == 'sent' then
  set('s', 's', ARGV[7])
elseif outcome == 'skip' then
  set('k', 'k', ARGV[7])
elseif m.st == 'c' then
  -- cancelled while in flight: it must not come back
  redis.call('HSET', k, 'l' .. mid, '')
  outcome = 'cancelled'
elseif outcome == 'retry' then
  set('d', 'e', ARGV[7])
  redis.call('ZADD', KEYS[2], tonumber(ARGV[6]), id)
  redis.call('EXPIRE', k, math.floor((tonumber(ARGV[6]) - now) / 1000) + keep, 'GT')
elseif outcome == 'dead' then
  set('x', 'x', ARGV[7])
  redis.call('ZADD', KEYS[3], now, id)
  -- a dead letter stays to be read and replayed for the keep time
  if redis.call('TTL', k) < keep then redis.call('EXPIRE', k, keep) end
elseif outcome == 'release' then
  -- shutting down before the send finished: not an attempt
  m.a = m.a - 1
  set('d')
  redis.call('ZADD', KEYS[2], now, id)
else
  return redis.error_reply('ack: unknown outcome ' .. tostring(outcome))
end
redis.call('HINCRBY', P .. 'stats', outcome, 1)
return 1
