-- Admit one call to a carrier: the circuit breaker's verdict first, then room in the rate limit.
-- KEYS[1] = circuit hash, KEYS[2] = rate limit: theoretical arrival time in ms (GCRA, on Redis's clock)
-- ARGV[1] = now (s, the gateway's clock), ARGV[2] = cooldown_s, ARGV[3] = probe_timeout_s, ARGV[4] = probe id,
-- ARGV[5] = interval_ms (0: no limit), ARGV[6] = tolerance_ms ((burst - 1) intervals), ARGV[7] = max_wait_ms
-- Returns {verdict, state, wait_us}: verdict ok | probe | open | limited; state 0 closed, 1 half-open, 2 open;
-- wait_us: how long an admitted caller sleeps before calling, or how long a refused one should wait.
-- Nothing is written unless the call is admitted: a refused call takes no room and no probe.
local STATE = {closed = 0, half_open = 1, open = 2}
local now = tonumber(ARGV[1])
local circuit = redis.call('HMGET', KEYS[1], 'state', 'opened_at', 'probe_until')
local state = circuit[1] or 'closed'
local verdict = 'ok'
if state == 'open' then
  local ready = tonumber(circuit[2]) + tonumber(ARGV[2])
  if now < ready then
    return {'open', 2, math.ceil((ready - now) * 1e6)}
  end
  verdict = 'probe'
elseif state == 'half_open' then
  local ready = tonumber(circuit[3])
  if now < ready then
    return {'open', 1, math.ceil((ready - now) * 1e6)}
  end
  verdict = 'probe' -- the last probe never reported back (its process died): this caller takes over
end

local wait_ms = 0
local interval = tonumber(ARGV[5])
if interval > 0 then
  -- Redis's own clock: every process measures the same seconds, whatever their clocks say.
  local t = redis.call('TIME')
  local clock_ms = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
  local tat = math.max(tonumber(redis.call('GET', KEYS[2]) or 0), clock_ms)
  wait_ms = tat - tonumber(ARGV[6]) - clock_ms
  if wait_ms > tonumber(ARGV[7]) then
    return {'limited', STATE[state], math.ceil(wait_ms * 1000)}
  end
  if wait_ms < 0 then
    wait_ms = 0
  end
  local next_tat = tat + interval
  redis.call('SET', KEYS[2], string.format('%.3f', next_tat), 'PX', math.ceil(next_tat - clock_ms) + 1)
end

if verdict == 'probe' then
  redis.call('HSET', KEYS[1], 'state', 'half_open', 'probe', ARGV[4], 'probe_until', now + tonumber(ARGV[3]))
  return {'probe', 1, math.ceil(wait_ms * 1000)}
end
return {'ok', STATE[state], math.ceil(wait_ms * 1000)}
