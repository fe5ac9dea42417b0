-- Commit one apply() of tracking events to a return, if nothing changed since it was read.
-- The compare-and-set is on the exact document text and on the events being new, so two
-- writers of one return never both win; the loser reads again and retries.
-- KEYS: 1 doc, 2 events hash, 3 raw list, 4 feed stream, 5 old status index, 6 new status index
-- ARGV: 1 old doc, 2 new doc, 3 return id, 4 index score, 5 raw kept, 6 feed maxlen,
--       7 r raw payloads, then r payloads, then n events, then per event: its fingerprint,
--       its JSON, f, then f arguments (the feed entry's field, value pairs)
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return 0
end
local r = tonumber(ARGV[7])
local n = tonumber(ARGV[8 + r])
-- Where each event's arguments start.
local starts, at = {}, 9 + r
for k = 1, n do
  starts[k] = at
  at = at + 3 + tonumber(ARGV[at + 2])
end
for k = 1, n do
  if redis.call('HEXISTS', KEYS[2], ARGV[starts[k]]) == 1 then
    return 0
  end
end
for k = 1, n do
  redis.call('HSET', KEYS[2], ARGV[starts[k]], ARGV[starts[k] + 1])
end
redis.call('SET', KEYS[1], ARGV[2])
if KEYS[5] ~= KEYS[6] then
  redis.call('ZREM', KEYS[5], ARGV[3])
  redis.call('ZADD', KEYS[6], ARGV[4], ARGV[3])
end
local kept = tonumber(ARGV[5])
if r > 0 and kept > 0 then
  for k = 8, 7 + r do
    redis.call('LPUSH', KEYS[3], ARGV[k])
  end
  redis.call('LTRIM', KEYS[3], 0, kept - 1)
end
for k = 1, n do
  local first = starts[k] + 3
  redis.call('XADD', KEYS[4], 'MAXLEN', '~', ARGV[6], '*',
             unpack(ARGV, first, first + tonumber(ARGV[starts[k] + 2]) - 1))
end
return 1
