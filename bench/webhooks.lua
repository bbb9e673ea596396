-- webhooks.lua: wrk script posting signed Shopify orders/create webhooks.
--
-- The bodies come pre-signed from a pool file written by bench.py (wrk's
-- Lua cannot afford an HMAC per request): a 64-byte header line
-- "NUDGEPOOL <count> <body length>" and then <count> fixed-size records,
-- each the 44-character base64 signature followed by the body. Bodies differ
-- in order id, customer e-mail and id, checkout/cart tokens, all fixed
-- width, so every record schedules the order's whole sequence. Records are
-- read from the file as they are sent (the 27 KB pool is too large to hold
-- in each thread's Lua state); each wrk thread reads its own slice and
-- cycles over it when it is used up.
--
-- Every request gets a distinct X-Shopify-Event-Id (and Webhook-Id):
-- "<run id>-<thread>-<n>".
--
-- args (after wrk's --): pool file, run id, rate (requests/s over all
-- threads, used by paced.lua; 0 = as fast as possible), threads, shop domain,
-- first record to use (a later fill goes on where the previous one stopped)
--
-- At the end, prints one line "WRKJSON {...}" for bench.py.

local ffi = require("ffi")
ffi.cdef [[
typedef struct { long tv_sec; long tv_nsec; } nb_timespec;
int clock_gettime(int clk, nb_timespec *ts);
]]

local nthreads_setup = 0

function setup(thread)
  thread:set("tid", nthreads_setup)
  nthreads_setup = nthreads_setup + 1
end

local f, bodylen, reclen, base, last, pos, head, runid, n

function now_ms()
  local ts = ffi.new("nb_timespec")
  ffi.C.clock_gettime(1, ts) -- CLOCK_MONOTONIC
  return tonumber(ts.tv_sec) * 1000 + tonumber(ts.tv_nsec) / 1e6
end

function init(args)
  local path, rate, nthreads = args[1], tonumber(args[3] or "0"), tonumber(args[4] or "1")
  local domain = args[5] or "bench.myshopify.com"
  runid = args[2] or "run"
  f = assert(io.open(path, "rb"))
  local hdr = f:read(64)
  local count, blen = hdr:match("^NUDGEPOOL (%d+) (%d+)")
  count, bodylen = tonumber(count), tonumber(blen)
  reclen = 44 + bodylen
  local start = tonumber(args[6] or "0")
  local per = math.floor((count - start) / nthreads)
  local t = tonumber(tid or 0)
  base = 64 + (start + t * per) * reclen
  last = base + per * reclen
  f:seek("set", base)
  pos = base
  n = 0
  -- paced.lua's delay() reads this: ms between two requests of this thread
  pace_interval = (rate and rate > 0) and (1000.0 * nthreads / rate) or nil
  head = "POST " .. wrk.path .. " HTTP/1.1\r\n" ..
    "Host: " .. wrk.host .. ":" .. tostring(wrk.port) .. "\r\n" ..
    "Content-Type: application/json\r\n" ..
    "X-Shopify-Topic: orders/create\r\n" ..
    "X-Shopify-Shop-Domain: " .. domain .. "\r\n" ..
    "X-Shopify-API-Version: 2025-01\r\n" ..
    "Content-Length: " .. tostring(bodylen) .. "\r\n" ..
    "X-Shopify-Hmac-Sha256: "
  runid = runid .. "-" .. tostring(t) .. "-"
end

function request()
  if pos >= last then
    f:seek("set", base)
    pos = base
  end
  pos = pos + reclen
  local sig = f:read(44)
  local body = f:read(bodylen)
  n = n + 1
  local id = runid .. n
  return head .. sig .. "\r\nX-Shopify-Event-Id: " .. id ..
    "\r\nX-Shopify-Webhook-Id: " .. id .. "\r\n\r\n" .. body
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests":%d,"duration_us":%d,"bytes":%d,"connect":%d,"read":%d,' ..
    '"write":%d,"status":%d,"timeout":%d,"lat_p50_us":%d,"lat_p99_us":%d,"lat_max_us":%d}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write,
    e.status, e.timeout, latency:percentile(50), latency:percentile(99), latency.max))
end
