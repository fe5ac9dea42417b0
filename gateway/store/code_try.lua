-- One guess at a portal one-time code: count it first, then hand back what the caller compares,
-- so no more guesses than allowed are ever compared, even when they race.
-- KEYS[1] = the challenge hash
-- Returns {} for an unknown challenge, else {tries including this one, digest, expires_at, order_id}.
if redis.call('EXISTS', KEYS[1]) == 0 then
  return {}
end
local tries = redis.call('HINCRBY', KEYS[1], 'tries', 1)
local f = redis.call('HMGET', KEYS[1], 'digest', 'expires_at', 'order_id')
return {tries, f[1], f[2], f[3]}
