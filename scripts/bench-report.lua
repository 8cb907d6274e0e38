-- wrk reporter: throughput, p50/p95/p99 and every kind of error.
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
end
