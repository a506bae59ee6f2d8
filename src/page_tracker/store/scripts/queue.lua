-- Put a page view in its site's inbox, spending the sender's budget first if it has one.
-- KEYS: the inbox, [the budget]. ARGV: the record, [interval (ms), burst].
-- Returns what spend returns (allowed 1 without a budget); the view is queued only if allowed.
local spent = {1, -1, 0, 0}
if KEYS[2] then
  spent = spend(KEYS[2], tonumber(ARGV[2]), tonumber(ARGV[3]), false)
end
if spent[1] == 1 then
  redis.call('RPUSH', KEYS[1], ARGV[1])
end
return spent
