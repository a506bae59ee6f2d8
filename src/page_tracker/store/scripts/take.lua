-- Lock a site's inbox for a drainer and return its first records.
-- KEYS: the inbox, its lock. ARGV: the holder, the lock's lifetime (ms), how many records.
-- Returns the records ({} if none wait, without locking), or false if another holds the lock.
-- A holder may take its own lock again: a drainer whose round failed (Redis went away with
-- the lock taken) counts those records at its next round, not once the lock has lapsed.
if redis.call('LLEN', KEYS[1]) == 0 then
  return {}
end
local held = redis.call('GET', KEYS[2])
if held and held ~= ARGV[1] then
  return false
end
redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[2])
return redis.call('LRANGE', KEYS[1], 0, tonumber(ARGV[3]) - 1)
