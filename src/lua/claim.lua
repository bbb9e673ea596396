-- claim: move up to N due messages of one partition to inflight, each with
-- a lease deadline and a fresh lease token, and return them with their
-- context. Expired leases (a worker that died holding them) go back to due
-- first. Runs atomically, so two workers never claim the same message.
--
-- KEYS: 1 due  2 inflight
-- ARGV: 1 prefix  2 now (ms)  3 lease (ms)  4 batch size  5 lease token prefix
-- Returns {{{id, token, {msg hash...}, {ctx hash...}}, ...}, next due score or ""}
local P, now, lease, n = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])

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
  redis.call('ZREM', KEYS[1], id)
  local mk = P .. 'm:' .. id
  if redis.call('HGET', mk, 'st') == 'due' then
    local token = ARGV[5] .. ':' .. i
    redis.call('HSET', mk, 'st', 'inflight', 'lt', token)
    redis.call('HINCRBY', mk, 'a', 1)
    redis.call('ZADD', KEYS[2], now + lease, id)
    local m = redis.call('HGETALL', mk)
    local sh, sj
    for j = 1, #m, 2 do
      if m[j] == 'sh' then sh = m[j + 1] elseif m[j] == 'sj' then sj = m[j + 1] end
    end
    local ctx = redis.call('HGETALL', P .. 'c:' .. sh .. ':' .. sj)
    out[#out + 1] = {id, token, m, ctx}
  end
end
local nxt = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return {out, nxt[2] or ''}
