-- Take one pickup from a carrier's daily cap, or refuse when the cap is reached.
-- KEYS[1] = cap:<carrier>:<day>; ARGV = cap, ttl_s (until a little after the day ends)
-- INCR and the check must be one step, or two processes could both take the last pickup.
local used = redis.call('INCR', KEYS[1])
if used == 1 then
  redis.call('EXPIRE', KEYS[1], ARGV[2])
end
if used > tonumber(ARGV[1]) then
  redis.call('DECR', KEYS[1])
  return 0
end
return 1
