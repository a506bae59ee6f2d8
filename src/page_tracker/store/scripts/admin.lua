-- An admin change to a counter, applied only if its admin key hash is still the one the caller
-- checked (so a counter deleted and re-created meanwhile is not touched).
-- KEYS: counter, then for 'delete' every key the counter owns
-- ARGV: expected admin hash, operation (set | add | delete), operand, now (unix s), retention (s)
-- Returns {old value, new value}, or an error reply naming what went wrong.
if redis.call('HGET', KEYS[1], '$CounterField_ADMIN') ~= ARGV[1] then
  return redis.error_reply('CHANGED counter changed while it was being updated')
end
-- Values travel as strings: a Lua number would round those above 2^53.
local old = redis.call('HGET', KEYS[1], '$CounterField_VALUE')
if ARGV[2] == 'set' then
  redis.call('HSET', KEYS[1], '$CounterField_VALUE', ARGV[3])
elseif ARGV[2] == 'add' then
  redis.call('HINCRBY', KEYS[1], '$CounterField_VALUE', ARGV[3])
elseif ARGV[2] == 'delete' then
  redis.call('DEL', unpack(KEYS))
  return {old, '0'}
end
redis.call('HSET', KEYS[1], '$CounterField_UPDATED', ARGV[4])
redis.call('EXPIRE', KEYS[1], ARGV[5])
return {old, redis.call('HGET', KEYS[1], '$CounterField_VALUE')}
