-- One dispatcher at a time reads a merchant's feed, so the entries a crashed reader left
-- pending are always queued before any newer entry of the same return.
-- KEYS[1] = the lease key; ARGV[1] = this dispatcher's name, ARGV[2] = lease (ms),
-- ARGV[3] = "hold" (take it when free or extend our own) or "release" (give it up if ours)
local holder = redis.call('GET', KEYS[1])
if ARGV[3] == 'release' then
  if holder == ARGV[1] then
    redis.call('DEL', KEYS[1])
  end
  return 0
end
if holder == false or holder == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0
