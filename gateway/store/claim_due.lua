-- Take the members of a due-time sorted set whose time has come, and push each one's
-- time forward by a lease, in one step: two pollers never take the same shipment, and a
-- poller that dies leaves its shipments to come due again when the lease runs out.
-- KEYS[1] = the due set; ARGV[1] = now, ARGV[2] = lease end, ARGV[3] = most to take
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[3]))
for _, member in ipairs(due) do
  redis.call('ZADD', KEYS[1], ARGV[2], member)
end
return due
