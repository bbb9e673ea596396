-- ack: the outcomes of sends, one or many per call (a worker batches the
-- acks that are ready together). Only the holder of a message's current
-- lease token may report it: after a lease expired and another worker
-- claimed the message, the first worker's late ack is refused (0 in the
-- reply), so a message is never both retried and sent by two owners.
--
-- KEYS: 1 inflight  2 due  3 dead
-- ARGV: 1 prefix  2 now (ms)  3 keep ttl (s)
--       then per message: id, lease token, outcome (sent|retry|dead|release|skip),
--       retry at (ms), info (provider id or error)
-- Returns one integer per message: 1 applied, 0 stale token.
local P, now, keep = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local counts, out, gone = {}, {}, {}

local function ack(id, token, outcome, retry_s, info)
  local retry_at = tonumber(retry_s)
  local mid = string.sub(id, 17)
  local k = P .. 's:' .. string.sub(id, 1, 16)
  local h = redis.call('HMGET', k, 'l' .. mid, 'm' .. mid, 'r' .. mid, 'h' .. mid)
  if h[1] ~= token then
    counts.stale_acks = (counts.stale_acks or 0) + 1
    return 0
  end
  local m = rec_decode(h[2])
  if not m then return 0 end
  gone[#gone + 1] = id

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
    set('s', 's', info)
  elseif outcome == 'skip' then
    set('k', 'k', info)
  elseif m.st == 'c' then
    -- cancelled while in flight: it must not come back
    redis.call('HSET', k, 'l' .. mid, '')
    outcome = 'cancelled'
  elseif outcome == 'retry' then
    set('d', 'e', info)
    redis.call('ZADD', KEYS[2], retry_s, id)
    redis.call('EXPIRE', k, I(math.floor((retry_at - now) / 1000) + keep), 'GT')
  elseif outcome == 'dead' then
    set('x', 'x', info)
    redis.call('ZADD', KEYS[3], ARGV[2], id)
    -- a dead letter stays to be read and replayed for the keep time
    if redis.call('TTL', k) < keep then redis.call('EXPIRE', k, ARGV[3]) end
  elseif outcome == 'release' then
    -- shutting down before the send finished: not an attempt
    m.a = m.a - 1
    set('d')
    redis.call('ZADD', KEYS[2], ARGV[2], id)
  else
    error('ack: unknown outcome ' .. tostring(outcome))
  end
  counts[outcome] = (counts[outcome] or 0) + 1
  return 1
end

for j = 4, #ARGV, 5 do
  out[#out + 1] = ack(ARGV[j], ARGV[j + 1], ARGV[j + 2], ARGV[j + 3], ARGV[j + 4])
end
if #gone > 0 then redis.call('ZREM', KEYS[1], unpack(gone)) end
for what, c in pairs(counts) do redis.call('HINCRBY', P .. 'stats', what, I(c)) end
return out
