-- request.lua - wrk script for scripts/bench.sh: one fixed request, sent
-- in absolute form to a proxy (or origin form to an origin), and a
-- machine-readable summary line at the end.
--
-- Settings come from the environment (wrk's Lua has os.getenv):
--   BENCH_TARGET  the request target, e.g. "http://127.0.0.1:8080/1k"
--                 (absolute form, through a proxy) or "/1k" (direct)
--   BENCH_HOST    the Host header, e.g. "127.0.0.1:8080"
--   BENCH_CLOSE   "1" to send "Connection: close" (one connection per
--                 request)
--
-- Only wrk.path and wrk.headers are set, at load time: wrk then formats
-- the request once and sends the same bytes every time (its static fast
-- path), so the client costs the same whatever server it drives.

local target = os.getenv("BENCH_TARGET")
local host = os.getenv("BENCH_HOST")
if target == nil or target == "" or host == nil or host == "" then
  io.stderr:write("request.lua: BENCH_TARGET and BENCH_HOST must be set\n")
  os.exit(2)
end

wrk.method = "GET"
wrk.path = target
wrk.headers["Host"] = host
if os.getenv("BENCH_CLOSE") == "1" then
  wrk.headers["Connection"] = "close"
end

-- One line, parsed by bench.sh: totals, latency percentiles in
-- microseconds, and every error counter wrk keeps.
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "BENCH requests=%d duration_us=%d bytes=%d p50_us=%d p90_us=%d " ..
    "p99_us=%d err_connect=%d err_read=%d err_write=%d err_status=%d " ..
    "err_timeout=%d\n",
    summary.requests, summary.duration, summary.bytes,
    latency:percentile(50), latency:percentile(90),
    latency:percentile(99), e.connect, e.read, e.write, e.status,
    e.timeout))
end
