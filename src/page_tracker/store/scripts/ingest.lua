-- Apply a site's page views: increments to hashes and sorted sets, additions to visitor
-- sketches. All keys share the site's hash slot, and the whole plan applies atomically.
-- ARGV[1], ARGV[2]: a channel to tell live dashboards of the views ('' for none), the message.
-- ARGV[3], ARGV[4]: when the views come from the site's inbox, the holder of its drain lock and
-- how many records they are ('' and 0 otherwise). Then KEYS[1] is the inbox and KEYS[2] the
-- lock: the plan applies only while the lock is still the holder's, and in the same step the
-- records leave the inbox and the lock is released, so no record is ever counted twice.
-- The other KEYS are the keys to write. For each, in order, ARGV from 5 holds: its kind ('h'
-- hash, 'z' sorted set, 'p' HyperLogLog), its lifetime in seconds from now (0 or less: it is
-- already past its retention), the number of operands n, then n operands: field (or member)
-- and increment pairs for 'h' and 'z', elements for 'p'.
-- A key's lifetime is set whenever the write could have created it: when a field or member
-- is new, or a sketch changed. Setting it again is harmless, and most writes skip it.
-- Returns -1 if the lock was lost (nothing applied), else the number of keys written.
local first = 1
if ARGV[3] ~= '' then
  if redis.call('GET', KEYS[2]) ~= ARGV[3] then
    return -1
  end
  redis.call('LTRIM', KEYS[1], tonumber(ARGV[4]), -1)
  redis.call('DEL', KEYS[2])
  first = 3
end
local a = 5
for k = first, #KEYS do
  local key = KEYS[k]
  local kind, lifetime, n = ARGV[a], ARGV[a + 1], tonumber(ARGV[a + 2])
  a = a + 3
  local fresh = false
  if kind == 'p' then
    fresh = redis.call('PFADD', key, unpack(ARGV, a, a + n - 1)) == 1
  else
    local command = kind == 'h' and 'HINCRBY' or 'ZINCRBY'
    for i = a, a + n - 2, 2 do
      local total = redis.call(command, key, kind == 'h' and ARGV[i] or ARGV[i + 1],
        kind == 'h' and ARGV[i + 1] or ARGV[i])
      if tonumber(total) == tonumber(ARGV[i + 1]) then
        fresh = true
      end
    end
  end
  a = a + n
  if fresh then
    redis.call('EXPIRE', key, lifetime)
  end
end
if ARGV[1] ~= '' then
  redis.call('PUBLISH', ARGV[1], ARGV[2])
end
return #KEYS - first + 1
