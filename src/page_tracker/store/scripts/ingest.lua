-- Apply a site's page views: increments to hashes and sorted sets, additions to visitor
-- sketches. All keys share the site's hash slot, and the whole plan applies atomically.
-- KEYS: the keys to write.
-- ARGV[1], ARGV[2]: a channel to tell live dashboards of the views ('' for none), the message.
-- ARGV from 3, for each key in order: kind ('h' hash, 'z' sorted set, 'p' HyperLogLog), the unix time
-- the key expires at, the number of operands n, then n operands: field (or member) and
-- increment pairs for 'h' and 'z', elements for 'p'.
-- A key's lifetime is set whenever the write could have created it: when a field or member
-- is new, or a sketch changed. Setting the same time again is harmless, and most writes skip it.
local a = 3
for _, key in ipairs(KEYS) do
  local kind, expire_at, n = ARGV[a], ARGV[a + 1], tonumber(ARGV[a + 2])
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
    redis.call('EXPIREAT', key, expire_at)
  end
end
if ARGV[1] ~= '' then
  redis.call('PUBLISH', ARGV[1], ARGV[2])
end
return a - 3
