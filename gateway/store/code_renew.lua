-- A new code for a live portal challenge: only when the last one went out long enough ago and
-- resends are left; the new code replaces the old one and starts with no guesses used.
-- KEYS[1] = the challenge hash
-- ARGV[1] = now (epoch s), ARGV[2] = least seconds between sends, ARGV[3] = most resends,
-- ARGV[4] = the new code's digest, ARGV[5] = its expiry (epoch s), ARGV[6] = the key's TTL (s)
-- Returns 'ok', 'unknown', 'limit' or 'wait'.
if redis.call('EXISTS', KEYS[1]) == 0 then
  return 'unknown'
end
local f = redis.call('HMGET', KEYS[1], 'sent_at', 'resends')
local resends = tonumber(f[2]) or 0
if resends >= tonumber(ARGV[3]) then
  return 'limit'
end
if tonumber(ARGV[1]) - (tonumber(f[1]) or 0) < tonumber(ARGV[2]) then
  return 'wait'
end
redis.call('HSET', KEYS[1], 'digest', ARGV[4], 'tries', 0, 'sent_at', ARGV[1], 'expires_at', ARGV[5],
           'resends', resends + 1)
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[6]))
return 'ok'
