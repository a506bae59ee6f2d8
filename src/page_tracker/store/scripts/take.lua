-- Lock a site's inbox for a drainer and return its first records.
-- KEYS: the inbox, its lock. ARGV: the holder, the lock's lifetime (ms), how many records.
-- Returns the records ({} if none wait, without locking), or false if another holds the lock.
if redis.call('LLEN', KEYS[1]) == 0 then
  return {}
end
if not redis.call('SET', KEYS[2], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return false
end
return redis.call('LRANGE', KEYS[1], 0, tonumber(ARGV[3]) - 1)
