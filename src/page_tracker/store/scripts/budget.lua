-- Spend one request of a budget, or with ARGV[3] = 1 only tell whether one is left.
-- KEYS: the budget. ARGV: interval (ms), burst, dry (0 or 1).
return spend(KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3] == '1')
