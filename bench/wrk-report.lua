-- wrk script shared by tokens.sh, api-read.sh and growth.sh.
--
-- The request comes from the environment (BENCH_METHOD, BENCH_BODY, BENCH_CONTENT_TYPE,
-- BENCH_AUTHORIZATION, BENCH_IF_NONE_MATCH) so that credentials never appear on a command line.
-- BENCH_STATUS is the status every answer should have (default 200); "non200" counts the others.
-- BENCH_PATHS, when set, is a space-separated list of paths (with their queries) that each
-- connection requests in turn instead of the URL's path, so that consecutive requests differ.
-- done() prints one
-- machine-readable line, "BENCH key=value ...", that lib.sh's vb_report formats. Latencies are in
-- microseconds, as wrk records them.

local function env(name)
  local value = os.getenv(name)
  if value == nil or value == "" then
    return nil
  end
  return value
end

wrk.method = env("BENCH_METHOD") or "GET"
wrk.body = env("BENCH_BODY")
if env("BENCH_CONTENT_TYPE") then
  wrk.headers["Content-Type"] = env("BENCH_CONTENT_TYPE")
end
if env("BENCH_AUTHORIZATION") then
  wrk.headers["Authorization"] = env("BENCH_AUTHORIZATION")
end
if env("BENCH_IF_NONE_MATCH") then
  wrk.headers["If-None-Match"] = env("BENCH_IF_NONE_MATCH")
end
local expected = tonumber(env("BENCH_STATUS") or "200")

-- Each wrk thread runs its own copy of this script; these globals are per thread and summed in
-- done() through the thread handles collected by setup().
non200 = 0
first_bad_status = ""

local threads = {}

function setup(thread)
  table.insert(threads, thread)
  -- Each thread starts at another place in BENCH_PATHS.
  thread:set("next_path", #threads * 7)
end

local paths = {}
for path in (env("BENCH_PATHS") or ""):gmatch("%S+") do
  table.insert(paths, path)
end
next_path = 0
if #paths > 0 then
  request = function()
    next_path = next_path % #paths + 1
    return wrk.format(nil, paths[next_path])
  end
end

function response(status, headers, body)
  if status ~= expected then
    non200 = non200 + 1
    if first_bad_status == "" then
      first_bad_status = tostring(status)
    end
  end
end

function done(summary, latency, requests)
  local bad, first = 0, ""
  for _, thread in ipairs(threads) do
    bad = bad + (tonumber(thread:get("non200")) or 0)
    local status = thread:get("first_bad_status")
    if first == "" and status ~= nil then
      first = tostring(status)
    end
  end
  local e = summary.errors
  io.write(string.format(
    "BENCH requests=%d duration_us=%d mean_us=%.1f p50_us=%d p99_us=%d max_us=%d non200=%d socket_errors=%d first_bad_status=%s\n",
    summary.requests, summary.duration, latency.mean, latency:percentile(50),
    latency:percentile(99), latency.max, bad, e.connect + e.read + e.write + e.timeout, first))
end
