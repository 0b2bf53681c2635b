# The approvals scenario of ops/bench (sourced; uses its variables and functions): a tenant
# with 200,000 approval requests, one approver with 5,000 pending tasks among them (and 50
# other approvers with the rest); wrk on that approver's inbox (GET /api/v1/approvals/inbox,
# the first page of 50, newest first). Target: p95 under 50 ms. APPROVALS_REQUESTS and
# APPROVALS_PENDING make the data smaller (a check of the script against a debug server).
approvals_bench() {
  local slug=bench-appr pw="Bench-Approvals-Password-1" base="http://127.0.0.1:$HTTP_PORT"
  local total=${APPROVALS_REQUESTS:-200000} mine=${APPROVALS_PENDING:-5000}
  # Requests of every 4th n are approved; the approver gets every stride-th pending one.
  local stride=$(( (total - total / 4) / mine ))
  [ "$stride" -ge 1 ] || { echo "APPROVALS_PENDING is more than the pending requests" >&2; exit 2; }
  printf '%s\n' "$pw" | "$CRM" tenant create --slug "$slug" --name "Bench Approvals" --admin-email appr@bench.example --admin-name Appr >/dev/null
  start_server CRM_SPARE_SCHEMAS=0 "$@"
  local admin schema
  admin=$(curl -sf -X POST "$base/api/v1/auth/login" -H "X-Tenant: $slug" -H 'Content-Type: application/json' \
    -d "{\"email\":\"appr@bench.example\",\"password\":\"$pw\"}" | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
  schema=$("$CRM" tenant show "$slug" | awk '/^schema:/{print $2}')
  api() { curl -sf -X "$1" "$base$2" -H "X-Tenant: $slug" -H "Authorization: Bearer $admin" -H 'Content-Type: application/json' ${3:+-d "$3"}; }
  id_of() { python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])'; }
  local approver
  approver=$(api POST /api/v1/admin/users "{\"email\":\"approver@bench.example\",\"name\":\"Approver\",\"password\":\"$pw\"}" | id_of)
  # The process the requests are on (its version 1); the rows below are made in SQL, as its
  # submissions would leave them: 50 other approvers hold the tasks that are not the approver's.
  local process
  process=$(api POST /api/v1/admin/approval-processes \
    "{\"name\":\"Bench\",\"object\":\"customer\",\"steps\":[{\"approvers\":{\"type\":\"users\",\"user_ids\":[\"$approver\"]}}]}" | id_of)
  api POST "/api/v1/admin/approval-processes/$process/publish" >/dev/null
  su_psql "$DATA" "$PORT" -d crm_bench >/dev/null <<SQL
INSERT INTO "$schema".users (id, email, name, password_hash, is_active, created_at, updated_at)
SELECT ('00000000-0000-7000-9000-' || lpad(to_hex(n), 12, '0'))::uuid, 'other' || n || '@bench.example', 'Other ' || n,
       u.password_hash, true, now(), now()
FROM generate_series(1, 50) n, (SELECT password_hash FROM "$schema".users WHERE id = '$approver') u;
CREATE TEMP TABLE gen AS
SELECT n, ('00000000-0000-7000-8000-' || lpad(to_hex(n), 12, '0'))::uuid AS id, n % 4 <> 0 AS pending,
       now() - make_interval(secs => $total - n) AS at
FROM generate_series(1, $total) n;
INSERT INTO "$schema".approval_requests (id, process_id, process_version, object, record_id, submitter_id, status, current_step,
                                         current_level, submitted_at, decided_at)
SELECT g.id, '$process', 1, 'customer', gen_random_uuid(), (SELECT id FROM "$schema".users WHERE email = 'appr@bench.example'),
       CASE WHEN g.pending THEN 'pending' ELSE 'approved' END, CASE WHEN g.pending THEN 0 END, 0, g.at,
       CASE WHEN g.pending THEN NULL ELSE now() END
FROM gen g;
-- One task per request: every k-th pending one is the approver's ($mine of them), the rest the others'.
INSERT INTO "$schema".approval_tasks (id, request_id, step, level, approver_id, status, created_at, decided_at, decided_by)
SELECT gen_random_uuid(), g.id, 0, 0,
       CASE WHEN g.pending AND g.rank % $stride = 0 AND g.rank / $stride <= $mine THEN '$approver'::uuid
            ELSE ('00000000-0000-7000-9000-' || lpad(to_hex(1 + g.n % 50), 12, '0'))::uuid END,
       CASE WHEN g.pending THEN 'pending' ELSE 'approved' END, g.at,
       CASE WHEN g.pending THEN NULL ELSE now() END,
       CASE WHEN g.pending THEN NULL ELSE ('00000000-0000-7000-9000-' || lpad(to_hex(1 + g.n % 50), 12, '0'))::uuid END
FROM (SELECT gen.*, row_number() OVER (PARTITION BY pending ORDER BY n) AS rank FROM gen) g;
VACUUM (ANALYZE) "$schema".approval_requests, "$schema".approval_tasks;
CHECKPOINT;
SQL
  local counts
  counts=$(su_psql "$DATA" "$PORT" -d crm_bench -tAc "SELECT (SELECT count(*) FROM \"$schema\".approval_requests) || ' requests, ' ||
    (SELECT count(*) FROM \"$schema\".approval_tasks WHERE approver_id = '$approver' AND status = 'pending') || ' pending tasks of the approver'")
  local token
  token=$(curl -sf -X POST "$base/api/v1/auth/login" -H "X-Tenant: $slug" -H 'Content-Type: application/json' \
    -d "{\"email\":\"approver@bench.example\",\"password\":\"$pw\"}" | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
  local first
  first=$(curl -sf "$base/api/v1/approvals/inbox?status=pending" -H "X-Tenant: $slug" -H "Authorization: Bearer $token" \
    | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["data"]))') || { echo "the inbox failed" >&2; exit 1; }
  [ "$first" -eq 50 ] || { echo "the inbox had $first items, not 50" >&2; exit 1; }
  cat > "$TMP/inbox.lua" <<LUA
wrk.headers["X-Tenant"] = "$slug"
wrk.headers["Authorization"] = "Bearer $token"
wrk.path = "/api/v1/approvals/inbox?status=pending"
done = function(summary, latency, requests)
  io.write(string.format("percentiles p50 %.2f ms, p95 %.2f ms, p99 %.2f ms\\n",
    latency:percentile(50) / 1000, latency:percentile(95) / 1000, latency:percentile(99) / 1000))
end
LUA
  wrk -t2 -c8 -d5s -s "$TMP/inbox.lua" "$base" >/dev/null   # warm-up
  local out
  out=$(wrk -t2 -c8 -d20s --latency -s "$TMP/inbox.lua" "$base")
  report "approvals: GET /api/v1/approvals/inbox?status=pending (50 of $counts), 8 connections: $(echo "$out" | awk '/Requests\/sec/{print $2}') req/s, $(echo "$out" | sed -n 's/^percentiles //p'), non-2xx: $(echo "$out" | awk '/Non-2xx/{print $5}')"
  # The plan, for the record: the partial inbox index, 51 rows, then the requests by primary key.
  su_psql "$DATA" "$PORT" -d crm_bench -c "SET search_path = \"$schema\"; EXPLAIN (ANALYZE, BUFFERS, COSTS OFF)
    SELECT t.id FROM approval_tasks t JOIN approval_requests r ON r.id = t.request_id
    WHERE t.approver_id = '$approver' AND t.status = 'pending' ORDER BY t.created_at DESC, t.id DESC LIMIT 51" | sed 's/^/  /'
}
