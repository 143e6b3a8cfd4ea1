/**
 * The Lua script that decides a request's limits in Redis, atomically, for every instance that
 * shares the Redis: rate-limiter-flexible counts fixed windows, and neither a token bucket nor an
 * exact sliding window is among its algorithms, so these two are ours. ioredis loads it once
 * (SCRIPT LOAD on first use) and calls it by its SHA-1 (EVALSHA), falling back to EVAL only after
 * a Redis restart forgot it.
 *
 * KEYS: one state key per check, then (optional) the auth-failure key of the client's address.
 * ARGV: n, blockPoints ('' for none), then per check: algorithm ('tb' | 'sw'), limit, windowMs,
 * burst. The clock is Redis's own (TIME), so instances with skewed clocks agree. A bucket is one
 * string "<tokens> <ms>": one MGET reads every bucket, one SET with its expiry writes each (the
 * fewest calls per decision).
 * Reply (integers): blocked address: [-2, msLeft]; otherwise [allowed 0|1, bindIndex (0-based),
 * retryAfterMs, resetMs, remaining].
 */
export const LIMITS_LUA = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local n = tonumber(ARGV[1])
if ARGV[2] ~= '' then
  local v = redis.call('GET', KEYS[n + 1])
  if v and tonumber(v) > tonumber(ARGV[2]) then
    return {-2, redis.call('PTTL', KEYS[n + 1])}
  end
end
local levels = {}
local refused = 0
-- Every bucket's state in one call (a sorted set's key reads as nil here, and is not used).
local strings = redis.call('MGET', unpack(KEYS, 1, n))
for i = 1, n do
  local b = 2 + (i - 1) * 4
  local limit = tonumber(ARGV[b + 2])
  local win = tonumber(ARGV[b + 3])
  local k = KEYS[i]
  if ARGV[b + 1] == 'tb' then
    local burst = tonumber(ARGV[b + 4])
    local tokens = burst
    local at = now
    local st = strings[i]
    if st then
      local sp = string.find(st, ' ', 1, true)
      tokens = tonumber(string.sub(st, 1, sp - 1))
      at = tonumber(string.sub(st, sp + 1))
    end
    if now > at then tokens = math.min(burst, tokens + (now - at) * limit / win) end
    levels[i] = tokens
    if tokens < 1 - 1e-9 and refused == 0 then refused = i end
  else
    redis.call('ZREMRANGEBYSCORE', k, '-inf', now - win)
    local c = redis.call('ZCARD', k)
    levels[i] = c
    if c >= limit and refused == 0 then refused = i end
  end
end
local function reset(i)
  local b = 2 + (i - 1) * 4
  local limit = tonumber(ARGV[b + 2])
  local win = tonumber(ARGV[b + 3])
  if ARGV[b + 1] == 'tb' then
    return math.ceil((tonumber(ARGV[b + 4]) - levels[i]) * win / limit)
  end
  local newest = redis.call('ZRANGE', KEYS[i], -1, -1, 'WITHSCORES')
  if #newest == 0 then return 0 end
  return math.max(0, math.ceil(tonumber(newest[2]) + win - now))
end
if refused > 0 then
  local b = 2 + (refused - 1) * 4
  local limit = tonumber(ARGV[b + 2])
  local win = tonumber(ARGV[b + 3])
  local retry
  if ARGV[b + 1] == 'tb' then
    retry = math.ceil((1 - levels[refused]) * win / limit - 1e-9)
  else
    local oldest = redis.call('ZRANGE', KEYS[refused], levels[refused] - limit, levels[refused] - limit, 'WITHSCORES')
    retry = math.ceil(tonumber(oldest[2]) + win - now)
  end
  return {0, refused - 1, math.max(1, retry), reset(refused), 0}
end
local bind = 1
local least = nil
for i = 1, n do
  local b = 2 + (i - 1) * 4
  local limit = tonumber(ARGV[b + 2])
  local win = tonumber(ARGV[b + 3])
  local k = KEYS[i]
  local left
  if ARGV[b + 1] == 'tb' then
    local burst = tonumber(ARGV[b + 4])
    levels[i] = levels[i] - 1
    redis.call('SET', k, string.format('%.17g %.17g', levels[i], now), 'PX', math.ceil(burst * win / limit) + 1000)
    left = math.floor(levels[i])
  else
    local m = string.format('%.3f', now)
    local s = 0
    while redis.call('ZSCORE', k, m) do
      s = s + 1
      m = string.format('%.3f', now) .. '-' .. s
    end
    redis.call('ZADD', k, now, m)
    redis.call('PEXPIRE', k, win + 1000)
    levels[i] = levels[i] + 1
    left = limit - levels[i]
  end
  if least == nil or left < least then
    least = left
    bind = i
  end
end
return {1, bind - 1, 0, reset(bind), math.max(0, least)}
`;
