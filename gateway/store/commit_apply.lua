-- Commit one apply() of tracking events to a return, if nothing changed since it was read.
-- The compare-and-set is on the exact document text and on the events being new, so two
-- writers of one return never both win; the loser reads again and retries.
-- KEYS: 1 doc, 2 events hash, 3 raw list, 4 feed stream, 5 old status index, 6 new status index
-- ARGV: 1 old doc, 2 new doc, 3 return id, 4 index score, 5 raw kept, 6 raw payload ("" for none),
--       7 feed maxlen, 8 n events, then n pairs (fingerprint, event json),
--       then m, then m feed entries as JSON objects of field -> value
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return 0
end
local n = tonumber(ARGV[8])
for k = 0, n - 1 do
  if redis.call('HEXISTS', KEYS[2], ARGV[9 + 2 * k]) == 1 then
    return 0
  end
end
for k = 0, n - 1 do
  redis.call('HSET', KEYS[2], ARGV[9 + 2 * k], ARGV[10 + 2 * k])
end
redis.call('SET', KEYS[1], ARGV[2])
if KEYS[5] ~= KEYS[6] then
  redis.call('ZREM', KEYS[5], ARGV[3])
  redis.call('ZADD', KEYS[6], ARGV[4], ARGV[3])
end
local kept = tonumber(ARGV[5])
if ARGV[6] ~= '' and kept > 0 then
  redis.call('LPUSH', KEYS[3], ARGV[6])
  redis.call('LTRIM', KEYS[3], 0, kept - 1)
end
local at = 9 + 2 * n
local m = tonumber(ARGV[at])
for k = 1, m do
  local fields = cjson.decode(ARGV[at + k])
  local args = {}
  for name, value in pairs(fields) do
    args[#args + 1] = name
    args[#args + 1] = value
  end
  redis.call('XADD', KEYS[4], 'MAXLEN', '~', ARGV[7], '*', unpack(args))
end
return 1
