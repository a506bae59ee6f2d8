-- wrk script: every thread sends for SECONDS (or until it has MAX answers), then waits for the
-- answers still in flight, so the 2xx count can be checked against the server's own count.
-- Usage: wrk -d<SECONDS+2>s ... -s bounded.lua URL -- SECONDS MAX [METHOD BODY-FILE CONTENT-TYPE]
--        or ... -- SECONDS MAX MIX: hits over 20,000 keys and beacons over 5,000 pages and 300
--        referrers, half and half, in random order.
-- With BENCH_RATE set in the environment, each thread sends that many requests a second at
-- most, spread evenly over its connections (for latency below the peak rate).
local ffi = require("ffi")
ffi.cdef [[
typedef struct { long tv_sec; long tv_nsec; } timespec;
int clock_gettime(int clock_id, timespec *tp);
]]
local CLOCK_MONOTONIC = 1

local function now()
  local t = ffi.new("timespec")
  ffi.C.clock_gettime(CLOCK_MONOTONIC, t)
  return tonumber(t.tv_sec) + tonumber(t.tv_nsec) / 1e9
end

local threads = {}

function setup(thread)
  table.insert(threads, thread)
  thread:set("id", #threads)
end

function init(args)
  seconds, max = tonumber(args[1]), tonumber(args[2])
  received, ok, first, last = 0, 0, 0, 0
  mix = args[3] == "MIX"
  if args[3] and not mix then
    -- The body comes in a file: a batch of events is longer than a command line may be.
    local file = assert(io.open(args[4], "rb"))
    wrk.method, wrk.body = args[3], file:read("*a")
    file:close()
    wrk.headers["Content-Type"] = args[5]
  end
  -- Every request comes from an address of its own, as a proxy in front would say: each is
  -- checked against its budget, and none is refused (page-tracker trusts one proxy here).
  sent, headers = 0, {}
  for name, value in pairs(wrk.headers) do headers[name] = value end
  prefix = "10." .. (id or 0) % 256 .. "."
  rate, slot = tonumber(os.getenv("BENCH_RATE") or "0"), 0
end

function request()
  sent = sent + 1
  headers["X-Forwarded-For"] = prefix .. math.floor(sent / 256) % 256 .. "." .. sent % 256
  if not mix then
    return wrk.format(nil, nil, headers)
  end
  if math.random() < 0.5 then
    headers["Content-Type"] = nil
    return wrk.format("GET", "/hit/mix/k" .. math.random(20000), headers)
  end
  headers["Content-Type"] = "text/plain"
  local body = string.format(
    '{"site":"bench","url":"https://bench.test/p%d","referrer":"https://r%d.test/"}',
    math.random(5000), math.random(300))
  return wrk.format("POST", "/api/event", headers, body)
end

function delay()
  local t = now()
  if first == 0 then first = t end
  if t - first > seconds or received >= max then return 3600000 end
  if rate <= 0 then return 0 end
  -- The thread's next free slot; one left unused in the past is not made up for in a burst.
  slot = math.max(slot + 1 / rate, t)
  return (slot - t) * 1000
end

function response(status, headers, body)
  received = received + 1
  last = now()
  if status >= 200 and status < 300 then ok = ok + 1 end
end

function done(summary, latency, requests)
  local total, total_ok, started, ended = 0, 0, math.huge, 0
  for _, thread in ipairs(threads) do
    total = total + thread:get("received")
    total_ok = total_ok + thread:get("ok")
    started = math.min(started, thread:get("first"))
    ended = math.max(ended, thread:get("last"))
  end
  local e = summary.errors
  io.write(string.format(
    "RESULT responses=%d ok=%d seconds=%.6f p50_us=%d p99_us=%d errors=%d\n",
    total, total_ok, ended - started, latency:percentile(50), latency:percentile(99),
    e.connect + e.read + e.write + e.timeout))
end
