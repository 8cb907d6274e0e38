-- wrk reporter: throughput, p50/p95/p99 and every kind of error, then one machine-readable
-- line ("summary: req/s p50-ms p99-ms errors") for bench.sh's table.
-- WRK_METHOD=POST (with WRK_BODY) sends a form post, as a server-function call does.
local method = os.getenv("WRK_METHOD")
if method and method ~= "" then
  wrk.method = method
  wrk.body = os.getenv("WRK_BODY") or ""
  wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
end

done = function(summary, latency, requests)
  local secs = summary.duration / 1e6
  io.write(string.format("requests:      %d in %.2f s\n", summary.requests, secs))
  io.write(string.format("requests/s:    %.1f\n", summary.requests / secs))
  for _, p in ipairs({50, 95, 99}) do
    io.write(string.format("latency p%-3d   %.2f ms\n", p, latency:percentile(p) / 1000))
  end
  io.write(string.format("latency max    %.2f ms\n", latency.max / 1000))
  local e = summary.errors
  io.write(string.format("errors:        non-2xx %d, connect %d, read %d, write %d, timeout %d\n",
    e.status, e.connect, e.read, e.write, e.timeout))
  io.write(string.format("summary: %.1f %.2f %.2f %d\n", summary.requests / secs,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    e.status + e.connect + e.read + e.write + e.timeout))
end
