-- Add one pickup outcome to a carrier's decayed stats, for its area and carrier-wide ("*").
-- KEYS[1] = {learn}:<carrier> hash, KEYS[2] = {learn}:version
-- ARGV = area, succeeded (1/0), turnaround_s ("" when unknown), at (epoch s), half_life_s
-- A stat is [successes, attempts, turnaround_sum_s, turnaround_count, as_of_epoch_s]; every
-- number halves each half-life, so one read-decay-add-write has to be atomic: hence Lua.
local succeeded = tonumber(ARGV[2])
local turnaround = tonumber(ARGV[3])
local at = tonumber(ARGV[4])
local half_life = tonumber(ARGV[5])

local function bump(field)
  local s, n, t, tn, as_of = 0, 0, 0, 0, at
  local weight = 1
  local raw = redis.call('HGET', KEYS[1], field)
  if raw then
    local v = cjson.decode(raw)
    s, n, t, tn, as_of = v[1], v[2], v[3], v[4], v[5]
    if at >= as_of then
      local d = 0.5 ^ ((at - as_of) / half_life)
      s, n, t, tn, as_of = s * d, n * d, t * d, tn * d, at
    else
      -- An outcome older than the stats (late event): fade it instead of the stats.
      weight = 0.5 ^ ((as_of - at) / half_life)
    end
  end
  s = s + succeeded * weight
  n = n + weight
  if turnaround then
    t = t + turnaround * weight
    tn = tn + weight
  end
  redis.call('HSET', KEYS[1], field, cjson.encode({s, n, t, tn, as_of}))
end

bump(ARGV[1])
bump('*')
return redis.call('INCR', KEYS[2])
