-- Count one hit: create the counter if needed, add to its total, its hour of the day and its
-- visitor sketches, and renew the lifetimes. All keys share the namespace's hash slot.
-- KEYS: counter, hours of today, uniques of today, uniques all time, namespace totals,
--       [the hitter's budget in this namespace]
-- ARGV: now (unix s), hour (0-23), visitor id, retention (s), history (s),
--       [the budget's interval (ms), burst]
-- Returns what spend returns (allowed 1 without a budget), then the new value; a hit over
-- budget counts nothing.
local spent = {1, -1, 0, 0}
if KEYS[6] then
  spent = spend(KEYS[6], tonumber(ARGV[6]), tonumber(ARGV[7]), false)
  if spent[1] == 0 then
    return spent
  end
end
local created = redis.call('HSETNX', KEYS[1], '$CounterField_CREATED', ARGV[1]) == 1
if created then
  redis.call('HSET', KEYS[1], '$CounterField_ADMIN', '')
end
local value = redis.call('HINCRBY', KEYS[1], '$CounterField_VALUE', 1)
redis.call('HSET', KEYS[1], '$CounterField_UPDATED', ARGV[1])
redis.call('HINCRBY', KEYS[5], '$TotalsField_HITS', 1)
-- Lifetimes are renewed on a counter's first hit of each hour, not on every hit: an idle
-- counter still expires within an hour of its retention, and most hits make four fewer calls.
if redis.call('HINCRBY', KEYS[2], ARGV[2], 1) == 1 or created then
  redis.call('EXPIRE', KEYS[1], ARGV[4])
  redis.call('EXPIRE', KEYS[2], ARGV[5])
  redis.call('EXPIRE', KEYS[4], ARGV[4])
  redis.call('EXPIRE', KEYS[5], ARGV[4])
end
-- A sketch may be new whenever it changes; a day's sketch is only written that day.
if redis.call('PFADD', KEYS[3], ARGV[3]) == 1 then
  redis.call('EXPIRE', KEYS[3], ARGV[5])
end
if redis.call('PFADD', KEYS[4], ARGV[3]) == 1 then
  redis.call('EXPIRE', KEYS[4], ARGV[4])
end
-- Lua numbers are doubles: past 2^53 return the value as Redis stores it, as a string.
if math.abs(value) < 9007199254740992 then
  spent[5] = value
else
  spent[5] = redis.call('HGET', KEYS[1], '$CounterField_VALUE')
end
return spent
