# The memory scenario of ops/bench (sourced; uses its variables and functions): the server's RSS
# over a long run of one-trip reads spread across many tenants (default 10,000 for 600 s), each
# tenant with its own API token and customer, so the bounded caches (1,000 tenants) churn the
# whole time. Reports the server's RSS every 30 s (it should level off, not climb) and PostgreSQL's
# largest backend (it climbs with the tenants each backend has served: see docs/operations.md).
memory_bench() {
  local tenants=${BENCH_MEMORY_TENANTS:-10000} seconds=${BENCH_MEMORY_SECONDS:-600} base="http://127.0.0.1:$HTTP_PORT"
  [ -n "$SERVER_PID" ] && { kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true; SERVER_PID=""; }
  local have
  have=$(su_psql "$DATA" "$PORT" -d crm_bench -tAc "SELECT count(*) FROM pg_namespace WHERE nspname LIKE 't\_%' AND nspname NOT LIKE '%\_\_%'")
  if [ "$have" -lt "$tenants" ]; then
    stop_cluster "$DATA"; start_cluster "$DATA" "$PORT" fast
    "$BENCH" seed-tenants --count $((tenants - have)) | sed 's/^/  /'
    stop_cluster "$DATA"; start_cluster "$DATA" "$PORT"
  fi
  "$BENCH" seed-sessions --tenants "$tenants" > "$TMP/memory-tenants.txt"
  local n
  n=$(wc -l < "$TMP/memory-tenants.txt")
  tenants_lua "$TMP/memory-tenants.txt" 5 > "$TMP/memory.lua"
  start_server CRM_SPARE_SCHEMAS=0 "$@"
  report "memory: server RSS at start: $(awk '/^VmRSS/{print int($2/1024)}' /proc/$SERVER_PID/status) MB"
  wrk -t2 -c32 -d"${seconds}s" --latency -s "$TMP/memory.lua" "$base" > "$TMP/memory-wrk.txt" &
  local wrk_pid=$! elapsed=0 series="" pg_series="" postmaster
  postmaster=$(head -1 "$DATA/postmaster.pid")
  # PostgreSQL's backends keep catalog caches and compiled functions for every tenant they
  # served: the largest backend's RSS shows it (stop 34: ~0.7 MB per tenant per backend).
  pg_largest() { for p in $(pgrep -P "$postmaster"); do awk '/^VmRSS/{print int($2/1024)}' "/proc/$p/status" 2>/dev/null; done | sort -n | tail -1; }
  while kill -0 "$wrk_pid" 2>/dev/null; do
    sleep 30; elapsed=$((elapsed + 30))
    kill -0 "$wrk_pid" 2>/dev/null || break
    series="$series ${elapsed}s:$(awk '/^VmRSS/{print int($2/1024)}' /proc/$SERVER_PID/status)"
    pg_series="$pg_series ${elapsed}s:$(pg_largest)"
    # Stop before the machine runs out of memory (no swap here): say so in the results.
    if [ "$(awk '/MemAvailable/{print int($2/1024)}' /proc/meminfo)" -lt 2048 ]; then
      kill -INT "$wrk_pid" 2>/dev/null || true
      report "memory: stopped at ${elapsed}s: the machine had under 2 GB available"
    fi
  done
  wait "$wrk_pid" || true
  report "memory: server RSS (MB) every 30 s over $seconds s of GET by id across $n tenants, 32 connections:$series"
  report "memory: PostgreSQL's largest backend RSS (MB) every 30 s:$pg_series"
  report "memory: $(awk '/Requests\/sec/{print $2}' "$TMP/memory-wrk.txt") req/s, p99 $(awk '$1=="99%"{print $2}' "$TMP/memory-wrk.txt"), non-2xx $(awk '/Non-2xx/{print $4}' "$TMP/memory-wrk.txt"); RSS at the end $(awk '/^VmRSS/{print int($2/1024)}' /proc/$SERVER_PID/status) MB"
  # A deploy waits for this: SIGTERM to exit, with whatever jobs run (the hourly usage gauges visit every tenant).
  local t0 t1 cut
  t0=$(date +%s%N); kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true; t1=$(date +%s%N); SERVER_PID=""
  cut=$(grep -c "after the shutdown grace" "$TMP/server.log" || true)
  report "memory: SIGTERM to exit $(( (t1 - t0) / 1000000 )) ms; jobs cut after the grace: $cut"
}
