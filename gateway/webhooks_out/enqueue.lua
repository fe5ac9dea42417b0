-- Queue one feed entry's messages on their (endpoint, return) FIFO lists and acknowledge the
-- entry in one step: a crash leaves both or neither, so an entry is never skipped and never
-- queued twice (a second consumer's XACK answers 0 and queues nothing). A list that was empty
-- puts its new head into the due set; a list that was not already has its head there.
-- KEYS[1] = feed stream, KEYS[2] = due set, KEYS[3..] = one FIFO list per message
-- ARGV[1] = consumer group ("" for a replay: nothing to acknowledge), ARGV[2] = entry id,
-- ARGV[3] = now (epoch s), ARGV[4..] = member "<eid> <rid>" and message JSON, pairwise
if ARGV[1] ~= '' and redis.call('XACK', KEYS[1], ARGV[1], ARGV[2]) == 0 then
  return 0
end
for i = 3, #KEYS do
  local j = 4 + (i - 3) * 2
  if redis.call('RPUSH', KEYS[i], ARGV[j + 1]) == 1 then
    redis.call('ZADD', KEYS[2], ARGV[3], ARGV[j])
  end
end
return 1
