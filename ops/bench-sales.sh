# The sales scenario of ops/bench (sourced; uses its variables and functions): a tenant with
# 1,000,000 opportunities (200 owners in 30 departments on 3 levels, 2 pipelines, CNY and USD
# amounts), made in SQL as the records API would leave them; wrk on the board of one pipeline
# and on a quarter's forecast by department, as the tenant admin (everything) and as a
# top-level department's manager (their subtree); each answer compared with a brute-force SQL
# query. Targets: board p95 < 200 ms, forecast p95 < 300 ms. SALES_OPPS makes the data smaller
# (a check of the script).
sales_bench() {
  local slug=bench-sales pw="Bench-Sales-Password-1" base="http://127.0.0.1:$HTTP_PORT"
  local total=${SALES_OPPS:-1000000}
  printf '%s\n' "$pw" | "$CRM" tenant create --slug "$slug" --name "Bench Sales" --plan enterprise --admin-email sales@bench.example \
    --admin-name Sales >/dev/null
  start_server CRM_SPARE_SCHEMAS=0 "$@"
  local admin schema
  admin=$(curl -sf -X POST "$base/api/v1/auth/login" -H "X-Tenant: $slug" -H 'Content-Type: application/json' \
    -d "{\"email\":\"sales@bench.example\",\"password\":\"$pw\"}" | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
  schema=$("$CRM" tenant show "$slug" | awk '/^schema:/{print $2}')
  api() { curl -sf -X "$1" "$base$2" -H "X-Tenant: $slug" -H "Authorization: Bearer $admin" -H 'Content-Type: application/json' ${3:+-d "$3"}; }
  api POST /api/v1/admin/modules/sales/enable >/dev/null
  api PUT /api/v1/admin/currencies '{"base":"CNY","enabled":["USD"]}' >/dev/null
  api POST /api/v1/admin/pipelines '{"key":"renewals","label":"Renewals","stages":[
    {"key":"contact","label":"Contact","probability":30},{"key":"terms","label":"Terms","probability":70,"forecast_category":"commit"},
    {"key":"renewed","label":"Renewed","category":"won"},{"key":"churned","label":"Churned","category":"lost"}]}' >/dev/null
  local t0 t1
  t0=$(date +%s.%N)
  su_psql "$DATA" "$PORT" -d crm_bench >/dev/null <<SQL
SET search_path = "$schema";
-- Bulk load: the customer-count trigger is off for the load and its result computed once after.
SET session_replication_role = replica;
-- 30 departments on 3 levels: 3 at the top, 3 under each, 2 under each of those.
INSERT INTO departments (id, name, parent_id)
SELECT ('00000000-0000-7000-a000-' || lpad(to_hex(n), 12, '0'))::uuid, 'Top ' || n, NULL FROM generate_series(1, 3) n;
INSERT INTO departments (id, name, parent_id)
SELECT ('00000000-0000-7000-a000-' || lpad(to_hex(10 + n), 12, '0'))::uuid, 'Mid ' || n,
       ('00000000-0000-7000-a000-' || lpad(to_hex(1 + (n - 1) / 3), 12, '0'))::uuid FROM generate_series(1, 9) n;
INSERT INTO departments (id, name, parent_id)
SELECT ('00000000-0000-7000-a000-' || lpad(to_hex(100 + n), 12, '0'))::uuid, 'Team ' || n,
       ('00000000-0000-7000-a000-' || lpad(to_hex(10 + 1 + (n - 1) / 2), 12, '0'))::uuid FROM generate_series(1, 18) n;
-- 200 owners: 10 in each top and mid department, the rest spread over the teams.
INSERT INTO users (id, email, name, password_hash, is_active, department_id, created_at, updated_at)
SELECT ('00000000-0000-7000-9000-' || lpad(to_hex(n), 12, '0'))::uuid, 'rep' || n || '@bench.example', 'Rep ' || n, a.password_hash, true,
       CASE WHEN n <= 30 THEN ('00000000-0000-7000-a000-' || lpad(to_hex(1 + (n - 1) / 10), 12, '0'))::uuid
            WHEN n <= 120 THEN ('00000000-0000-7000-a000-' || lpad(to_hex(10 + 1 + (n - 31) / 10), 12, '0'))::uuid
            ELSE ('00000000-0000-7000-a000-' || lpad(to_hex(100 + 1 + (n - 121) % 18), 12, '0'))::uuid END, now(), now()
FROM generate_series(1, 200) n, (SELECT password_hash FROM users WHERE email = 'sales@bench.example') a;
INSERT INTO user_roles (user_id, role_id)
SELECT u.id, r.id FROM users u, roles r WHERE u.email LIKE 'rep%@bench.example' AND r.builtin = 'manager';
UPDATE departments SET manager_id = '00000000-0000-7000-9000-000000000001' WHERE id = '00000000-0000-7000-a000-000000000001';
INSERT INTO customers (id, name, owner_id, created_at, updated_at)
SELECT ('00000000-0000-7000-b000-' || lpad(to_hex(n), 12, '0'))::uuid, 'Customer ' || n,
       ('00000000-0000-7000-9000-' || lpad(to_hex(1 + n % 200), 12, '0'))::uuid, now(), now()
FROM generate_series(1, 50000) n;
CREATE TEMP TABLE st AS
SELECT pipeline, key, probability, forecast_category, category, row_number() OVER (PARTITION BY pipeline ORDER BY position) - 1 AS i,
       count(*) OVER (PARTITION BY pipeline) AS n
FROM pipeline_stages;
INSERT INTO opportunities (id, owner_id, created_at, updated_at, name, customer_id, pipeline, stage, amount_minor, currency,
                           expected_close_date, probability, forecast_category, type, status, fx_rate, amount_base_minor,
                           stage_entered_at, won_at, lost_at)
SELECT gen_random_uuid(), ('00000000-0000-7000-9000-' || lpad(to_hex(1 + g.n % 200), 12, '0'))::uuid, now(), now(), 'Deal ' || g.n,
       ('00000000-0000-7000-b000-' || lpad(to_hex(1 + g.n % 50000), 12, '0'))::uuid, st.pipeline, st.key, g.amount,
       CASE WHEN g.usd THEN 'USD' ELSE 'CNY' END, date '2026-01-01' + (g.n % 730), st.probability, st.forecast_category, 'new',
       st.category, CASE WHEN g.usd THEN 7.1 ELSE 1 END, CASE WHEN g.usd THEN round(g.amount * 7.1)::int8 ELSE g.amount END,
       now() - make_interval(days => g.n % 90),
       CASE WHEN st.category = 'won' THEN timestamptz '2026-01-01 00:00:00+00' + make_interval(hours => g.n % 17520) END,
       CASE WHEN st.category = 'lost' THEN timestamptz '2026-01-01 00:00:00+00' + make_interval(hours => g.n % 17520) END
FROM (SELECT n, 100 + (n * 7919) % 10000000 AS amount, n % 10 = 0 AS usd, CASE WHEN n % 2 = 0 THEN 'sales' ELSE 'renewals' END AS pipe,
             (n / 2) * 2654435761 % 1000 AS r FROM generate_series(1, $total) n) g
JOIN st ON st.pipeline = g.pipe AND st.i = g.r % st.n;
SET session_replication_role = DEFAULT;
UPDATE customers c SET open_opportunity_count = s.n FROM (
    SELECT customer_id, count(*) AS n FROM opportunities WHERE status = 'open' AND deleted_at IS NULL GROUP BY customer_id) s
WHERE s.customer_id = c.id;
VACUUM (ANALYZE) opportunities, customers, users, departments;
CHECKPOINT;
SQL
  t1=$(date +%s.%N)
  local count
  count=$(su_psql "$DATA" "$PORT" -d crm_bench -tAc "SELECT count(*) FROM \"$schema\".opportunities")
  report "sales: $count opportunities loaded in SQL in $(python3 -c "print(f'{$t1-$t0:.0f}')") s (200 owners, 30 departments on 3 levels, 2 pipelines)"
  local manager period
  manager=$(curl -sf -X POST "$base/api/v1/auth/login" -H "X-Tenant: $slug" -H 'Content-Type: application/json' \
    -d "{\"email\":\"rep1@bench.example\",\"password\":\"$pw\"}" | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
  period=$(date -u +%Y)-Q$(( ($(date -u +%-m) - 1) / 3 + 1 ))
  # Each answer against the brute-force reference (python: the API's JSON and psql's rows).
  local check
  check=$(BASE="$base" SLUG="$slug" ADMIN="$admin" MANAGER="$manager" PERIOD="$period" \
    PSQL="$(printf '%q ' as_pg psql -X -q -tA -h "$(socket_dir "$DATA")" -p "$PORT" -U postgres -d crm_bench)" SCHEMA="$schema" \
    python3 "$ROOT/ops/bench-sales-check.py") || { echo "$check" >&2; echo "the sales answers differ from the reference" >&2; exit 1; }
  report "sales: $check"
  for who in admin manager; do
    local token=$admin scope="the admin, all 1,000,000"
    [ "$who" = manager ] && { token=$manager; scope="a top department's manager, their subtree"; }
    for what in "board" "forecast"; do
      local path="/api/v1/opportunities/board?pipeline=sales"
      [ "$what" = forecast ] && path="/api/v1/forecast?period=$period&group_by=department"
      cat > "$TMP/sales.lua" <<LUA
wrk.headers["X-Tenant"] = "$slug"
wrk.headers["Authorization"] = "Bearer $token"
wrk.path = "$path"
done = function(summary, latency, requests)
  io.write(string.format("percentiles p50 %.1f ms, p95 %.1f ms, p99 %.1f ms\\n",
    latency:percentile(50) / 1000, latency:percentile(95) / 1000, latency:percentile(99) / 1000))
end
LUA
      wrk -t1 -c2 -d3s -s "$TMP/sales.lua" "$base" >/dev/null   # warm-up
      local out
      out=$(wrk -t2 -c4 -d${SALES_SECONDS:-20}s --latency -s "$TMP/sales.lua" "$base")
      report "sales: $what ($path) as $scope, 4 connections: $(echo "$out" | awk '/Requests\/sec/{print $2}') req/s, $(echo "$out" | sed -n 's/^percentiles //p'), non-2xx: $(echo "$out" | awk '/Non-2xx/{print $5}')"
    done
  done
}
