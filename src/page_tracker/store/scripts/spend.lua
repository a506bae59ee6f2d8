-- Spend one request of a client's budget, by the generic cell rate algorithm (GCRA): the
-- budget's key holds one number, the time (ms, Redis's clock) at which the client's budget is
-- full again, so a client costs one small key however busy it is.
-- `interval`: ms that one request's worth of budget takes to come back; `burst`: the budget.
-- Returns allowed (1 or 0), requests left, ms until the budget is full, ms until one is allowed.
-- With `dry`, nothing is spent: it only tells whether one would be allowed.
local function spend(key, interval, burst, dry)
  local time = redis.call('TIME')
  local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
  local full_at = math.max(tonumber(redis.call('GET', key)) or now, now)
  local after = full_at + interval
  local allowed_at = after - burst * interval
  if allowed_at > now then
    return {0, 0, full_at - now, allowed_at - now}
  end
  if not dry then
    redis.call('SET', key, after, 'PX', after - now)
  end
  return {1, math.floor((now - allowed_at) / interval), after - now, 0}
end
