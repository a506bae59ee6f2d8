-- Create a counter unless it exists. Returns 1 if created, 0 if it already existed.
-- KEYS: counter, uniques all time
-- ARGV: value, now (unix s), admin key hash ('' for none), retention (s)
if redis.call('EXISTS', KEYS[1]) == 1 then
  return 0
end
redis.call('HSET', KEYS[1], 'value', ARGV[1], 'created', ARGV[2], 'updated', ARGV[2],
  'admin', ARGV[3])
redis.call('EXPIRE', KEYS[1], ARGV[4])
return 1
