-- Create a counter unless it exists. Returns 1 if created, 0 if it already existed.
-- KEYS: counter, uniques all time
-- ARGV: value, now (unix s), admin key hash ('' for none), retention (s)
if redis.call('EXISTS', KEYS[1]) == 1 then
  return 0
end
redis.call('HSET', KEYS[1], '$CounterField_VALUE', ARGV[1], '$CounterField_CREATED', ARGV[2],
  '$CounterField_UPDATED', ARGV[2], '$CounterField_ADMIN', ARGV[3])
redis.call('EXPIRE', KEYS[1], ARGV[4])
return 1
