-- The end of one carrier call: the shared call stats, the breaker's rolling window, and its verdict.
-- KEYS[1] = circuit hash, KEYS[2] = rolling window hash, KEYS[3] = this minute's call stats hash
-- ARGV[1] = now (s), ARGV[2] = 1 when the carrier failed (timeout, 5xx, 429, reset), ARGV[3] = latency_s,
-- ARGV[4] = latency bucket field ("le:0.25"), ARGV[5] = stats TTL s, ARGV[6] = bucket_s,
-- ARGV[7] = buckets per window, ARGV[8] = error rate that opens, ARGV[9] = min calls,
-- ARGV[10] = probe id ('' when the call was not the half-open probe), ARGV[11] = 1 when the breaker is on
-- Returns {transition, state}: transition '' | 'opened' | 'closed'; state 0 closed, 1 half-open, 2 open.
local now, failed = tonumber(ARGV[1]), ARGV[2] == '1'
redis.call('HINCRBY', KEYS[3], 'calls', 1)
if failed then
  redis.call('HINCRBY', KEYS[3], 'errors', 1)
end
redis.call('HINCRBY', KEYS[3], ARGV[4], 1)
redis.call('HINCRBYFLOAT', KEYS[3], 'seconds', ARGV[3])
redis.call('EXPIRE', KEYS[3], ARGV[5])
if ARGV[11] ~= '1' then
  return {'', 0}
end

local circuit = redis.call('HMGET', KEYS[1], 'state', 'probe')
local state = circuit[1] or 'closed'
if state == 'half_open' then
  if ARGV[10] == '' or circuit[2] ~= ARGV[10] then
    return {'', 1} -- only the probe decides; calls admitted before the circuit opened do not
  end
  if failed then
    redis.call('HSET', KEYS[1], 'state', 'open', 'opened_at', now)
    redis.call('HDEL', KEYS[1], 'probe', 'probe_until')
    return {'opened', 2}
  end
  redis.call('DEL', KEYS[1], KEYS[2]) -- closed, with a clean window: old failures must not reopen it
  return {'closed', 0}
end
if state == 'open' then
  return {'', 2}
end

local bucket_s, count = tonumber(ARGV[6]), tonumber(ARGV[7])
local bucket = math.floor(now / bucket_s)
redis.call('HINCRBY', KEYS[2], 'n:' .. bucket, 1)
if failed then
  redis.call('HINCRBY', KEYS[2], 'e:' .. bucket, 1)
end
redis.call('EXPIRE', KEYS[2], math.ceil(bucket_s * count * 2))
if not failed then
  return {'', 0} -- a success cannot open the circuit
end
local calls, errors, oldest = 0, 0, bucket - count + 1
local fields = redis.call('HGETALL', KEYS[2])
for i = 1, #fields, 2 do
  local kind, at = string.match(fields[i], '^(%a):(%-?%d+)$')
  if tonumber(at) < oldest then
    redis.call('HDEL', KEYS[2], fields[i])
  elseif kind == 'n' then
    calls = calls + tonumber(fields[i + 1])
  else
    errors = errors + tonumber(fields[i + 1])
  end
end
if calls >= tonumber(ARGV[9]) and errors >= tonumber(ARGV[8]) * calls then
  redis.call('HSET', KEYS[1], 'state', 'open', 'opened_at', now)
  return {'opened', 2}
end
return {'', 0}
