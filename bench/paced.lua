-- paced.lua: webhooks.lua at a steady rate (wrk has no -R): each request
-- of a thread waits for its slot t0 + k * interval, so webhooks arrive at
-- the rate given as the third argument however fast the server answers.
-- (wrk only calls delay() when the script defines it, which is why pacing
-- is a separate script: unpaced runs pay nothing for it.)
dofile((os.getenv("NUDGE_BENCH_DIR") or "bench") .. "/webhooks.lua")

local t0, k

function delay()
  if pace_interval == nil then return 0 end
  local now = now_ms()
  if t0 == nil then t0, k = now, 0 end
  local slot = t0 + k * pace_interval
  k = k + 1
  if slot <= now then return 0 end
  return math.floor(slot - now)
end
