-- Record the result of one delivery attempt on a FIFO head, in one step.
-- The head must still be the message that was sent: when a lease ran out and another
-- dispatcher settled it first, this one changes nothing (answer 0).
-- "retry" rewrites the head (attempts + 1) and schedules it; "delivered" and "dead" pop it,
-- "dead" keeps it in the dead letters, and the next message, if any, becomes due at ARGV[4].
-- KEYS[1] = FIFO list, KEYS[2] = due set, KEYS[3] = attempt log, KEYS[4] = dead letters
-- ARGV[1] = member "<eid> <rid>", ARGV[2] = head as sent, ARGV[3] = outcome, ARGV[4] = next due,
-- ARGV[5] = new head (retry), ARGV[6] = attempt JSON, ARGV[7] = log length,
-- ARGV[8] = dead letter JSON, ARGV[9] = dead letters kept
if redis.call('LINDEX', KEYS[1], 0) ~= ARGV[2] then
  return 0
end
redis.call('LPUSH', KEYS[3], ARGV[6])
redis.call('LTRIM', KEYS[3], 0, tonumber(ARGV[7]) - 1)
if ARGV[3] == 'retry' then
  redis.call('LSET', KEYS[1], 0, ARGV[5])
  redis.call('ZADD', KEYS[2], ARGV[4], ARGV[1])
  return 1
end
redis.call('LPOP', KEYS[1])
if ARGV[3] == 'dead' then
  redis.call('LPUSH', KEYS[4], ARGV[8])
  redis.call('LTRIM', KEYS[4], 0, tonumber(ARGV[9]) - 1)
end
if redis.call('LLEN', KEYS[1]) > 0 then
  redis.call('ZADD', KEYS[2], ARGV[4], ARGV[1])
else
  redis.call('ZREM', KEYS[2], ARGV[1])
end
return 1
