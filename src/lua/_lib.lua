-- _lib: the storage encoding, shared by every script (scripts/lua2c.sh
-- puts this file in front of each of them). docs/architecture.md "Redis
-- data model" describes the keys; in short:
--
--   P s:<loc>        one HASH per subject (an order, a cart, a customer),
--                    loc = 16 hex of SHA-1("<shop>\n<subject>"). Fields:
--                    sh, sj (shop, subject), cu (customer key), x (flows
--                    closed for it, "|a|b|"), c (context parts, "part=loc,...");
--                    a customer's own hash (subject "u:<key>") also holds
--                    ce/cs (consent), lp (last promotional send), n (orders),
--                    j:<subject> (its other subjects), q:<mark> (the kc:
--                    marks of carts its orders closed). Per message <mid>:
--                      m<mid>  "st|attempts|flags|flow|step|template"
--                      t<mid>  "<scheduled ms>|<due ms>|<event>"
--                      r<mid>  its latest outcome, "<ms>|<code>|<text>"
--                              (codes: OUTCOME below)
--                      h<mid>  earlier outcomes, newest first, "\n"-separated
--                      l<mid>  lease token while in flight ("" after)
--                      k<mid>  "<discount code>|<expires ms>"
--                      p<mid>  the frequency-cap window it reserved (ms)
--   P c:<loc>:<part> a context part (JSON), shared by reference
--   P due / inflight / dead   ZSETs of message ids: <loc><mid> (24 hex)
--
-- Small values keep every subject hash a listpack (Redis' compact
-- encoding): a message costs its ZSET entry and ~60 bytes here.
local ST = {d = 'due', i = 'inflight', s = 'sent', c = 'cancelled', k = 'skipped', x = 'dead'}
local CH = {e = 'email', s = 'sms', w = 'webhook'}
local CHC = {email = 'e', sms = 's', webhook = 'w'}
local CM = {d = 'defer', s = 'skip'}

-- Integers to strings. Lua formats a number it converts by itself (a
-- concatenation, a redis.call argument) with "%.14g", which costs
-- thousands of instructions; "%d" does not (measured with callgrind).
local function I(n)
  return string.format('%d', n)
end

local function loc_of(shop, subject)
  return string.sub(redis.sha1hex(shop .. '\n' .. subject), 1, 16)
end

-- "st|a|flags|flow|step|template" <-> a table; flags: channel (e|s|w),
-- class (t|p), cap mode (-|d|s), discount (0|1). The template is left
-- empty when it is the step's name.
local function rec_decode(v)
  if not v then return nil end
  local st, a, fl, f, s, t = string.match(v, '^(%a)|(%-?%d+)|(....)|([^|]*)|([^|]*)|(.*)$')
  if not st then return nil end
  return {st = st, a = tonumber(a), ch = CH[string.sub(fl, 1, 1)] or 'email',
    cl = string.sub(fl, 2, 2) == 'p' and 'promotional' or 'transactional',
    cm = CM[string.sub(fl, 3, 3)], dc = string.sub(fl, 4, 4) == '1',
    f = f, s = s, t = (t ~= '' and t or s)}
end

local function rec_encode(m)
  local fl = (CHC[m.ch] or 'e') .. (m.cl == 'promotional' and 'p' or 't') ..
    (m.cm == 'defer' and 'd' or m.cm == 'skip' and 's' or '-') .. (m.dc and '1' or '0')
  return m.st .. '|' .. I(m.a) .. '|' .. fl .. '|' .. m.f .. '|' .. m.s .. '|' .. (m.t ~= m.s and m.t or '')
end

-- The <mid> of a message's record field ("m" and 8 hex), or nil.
local function record_mid(f)
  if #f == 9 and string.sub(f, 1, 1) == 'm' then return string.sub(f, 2) end
  return nil
end

-- a HGETALL reply as a table
local function hash_table(raw)
  local h = {}
  for j = 1, #raw, 2 do h[raw[j]] = raw[j + 1] end
  return h
end

-- Outcomes: code -> {timeline event, the field its text is in}.
local OUTCOME = {d = {'deferred', 'r'}, e = {'deferred', 'err'}, x = {'failed', 'err'},
  s = {'sent', 'pid'}, k = {'skipped', 'r'}, c = {'cancelled', 'r'}, p = {'replayed', 'r'}}

-- "<ms>|<code>|<text>" -> ms, code, text
local function stamp_split(v)
  if not v then return nil, nil, nil end
  local t, k, x = string.match(v, '^(%d*)|(%a)|(.*)$')
  return tonumber(t), k, x
end

local function stamp(now, code, text)
  return I(now) .. '|' .. code .. '|' .. string.gsub(string.sub(text or '', 1, 240), '\n', ' ')
end

-- A new outcome for message mid of hash h (a table, kept current): the
-- fields to write. The previous outcome goes to the history (at most 4).
local function restamp(h, mid, st)
  local out = {'r' .. mid, st}
  local old = h['r' .. mid]
  h['r' .. mid] = st
  if old then
    local hist = old
    local prev = h['h' .. mid]
    if prev then
      local n = 1
      for line in string.gmatch(prev, '[^\n]+') do
        if n >= 4 then break end
        hist = hist .. '\n' .. line
        n = n + 1
      end
    end
    h['h' .. mid] = hist
    out[3] = 'h' .. mid
    out[4] = hist
  end
  return out
end

-- The customer a subject belongs to (a customer's own hash is its subject).
local function cust_of(h)
  if h.cu and h.cu ~= '' then return h.cu end
  if h.sj and string.sub(h.sj, 1, 2) == 'u:' then return string.sub(h.sj, 3) end
  return ''
end

-- A message as a list of named fields (what the worker, nudgectl and the
-- export read): f s sh sj cu ch cl t a st ...; lean: only what a send needs.
local function msg_fields(h, mid, m, lean)
  local out = {'f', m.f, 's', m.s, 'sh', h.sh or '', 'sj', h.sj or '', 'cu', cust_of(h),
    'ch', m.ch, 'cl', m.cl, 't', m.t, 'a', I(m.a)}
  if m.dc then out[#out + 1] = 'dc'; out[#out + 1] = '1' end
  local code, cx = string.match(h['k' .. mid] or '', '^(.*)|(%d+)$')
  if code then
    out[#out + 1] = 'code'; out[#out + 1] = code
    out[#out + 1] = 'cx'; out[#out + 1] = cx
  end
  if lean then return out end
  out[#out + 1] = 'st'
  out[#out + 1] = ST[m.st] or m.st
  local at, code, r = stamp_split(h['r' .. mid])
  if r then
    local field = OUTCOME[code] and OUTCOME[code][2] or 'r'
    out[#out + 1] = field
    out[#out + 1] = r
    out[#out + 1] = 'at'
    out[#out + 1] = at and I(at) or ''
    if field ~= 'err' then
      -- why it was retried, when it was
      for line in string.gmatch(h['h' .. mid] or '', '[^\n]+') do
        local _, c, x = stamp_split(line)
        if c == 'e' or c == 'x' then
          out[#out + 1] = 'err'
          out[#out + 1] = x
          break
        end
      end
    end
  end
  local d = string.match(h['t' .. mid] or '', '^%d+|(%d+)|')
  if d then out[#out + 1] = 'd'; out[#out + 1] = d end
  if m.cm then out[#out + 1] = 'cm'; out[#out + 1] = m.cm end
  return out
end

-- The context of a subject: its "c" field's parts, read by reference.
local function ctx_fields(P, h, cache)
  local out = {}
  for part, l in string.gmatch(h.c or '', '([^=,]+)=([^,]+)') do
    local k = P .. 'c:' .. l .. ':' .. part
    local v = cache and cache[k]
    if v == nil then
      v = redis.call('GET', k) or false
      if cache then cache[k] = v end
    end
    if v then out[#out + 1] = part; out[#out + 1] = v end
  end
  return out
end

-- A customer's timeline, newest first, from the records of its subjects:
-- each message's scheduling, then its latest outcome; and the unsubscribe.
local function timeline_of(P, shop, cust)
  local function read(sj)
    local l = loc_of(shop, sj)
    return l, hash_table(redis.call('HGETALL', P .. 's:' .. l))
  end
  local cl, ch = read('u:' .. cust)
  local hs = {{cl, ch}}
  for f in pairs(ch) do
    if string.sub(f, 1, 2) == 'j:' then
      local l, h = read(string.sub(f, 3))
      hs[#hs + 1] = {l, h}
    end
  end
  local es = {}
  for _, lh in ipairs(hs) do
    local l, h = lh[1], lh[2]
    for f, v in pairs(h) do
      local mid = record_mid(f)
      local m = mid and rec_decode(v)
      if m then
        local t, ev = string.match(h['t' .. mid] or '', '^(%d+)|%d*|(.*)$')
        if t then
          es[#es + 1] = {t = tonumber(t), o = 0, e = 'scheduled', id = l .. mid, f = m.f, s = m.s, r = ev}
        end
        local o = 9
        for line in string.gmatch((h['r' .. mid] or '') .. '\n' .. (h['h' .. mid] or ''), '[^\n]+') do
          local at, code, r = stamp_split(line)
          if at and OUTCOME[code] then
            es[#es + 1] = {t = at, o = o, e = OUTCOME[code][1], id = l .. mid, f = m.f, s = m.s, r = r}
            o = o - 1
          end
        end
      end
    end
  end
  local un = redis.call('GET', P .. 'un:' .. shop .. ':' .. cust)
  if un then
    local t, src = string.match(un, '^(%d+)|?(.*)$')
    es[#es + 1] = {t = tonumber(t), o = 10, e = 'unsubscribed', r = src}
  end
  table.sort(es, function(a, b)
    if a.t ~= b.t then return a.t > b.t end
    if a.o ~= b.o then return a.o > b.o end
    return (a.id or '') > (b.id or '')
  end)
  local out = {}
  for j, e in ipairs(es) do
    e.o = nil
    out[j] = cjson.encode(e)
  end
  return out, ch
end
