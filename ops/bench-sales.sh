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
  api POST /api/v1/admin/modules/sales/enable >/dev/null || { echo "enabling sales failed: $(curl -s -X POST "$base/api/v1/admin/modules/sales/enable" -H "X-Tenant: $slug" -H "Authorization: Bearer $admin")" >&2; exit 1; }
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
-- Role memberships are cached by the tenant's access version: made here, they need a new one.
UPDATE settings SET value = to_jsonb((value #>> '{}')::bigint + 1), updated_at = now() WHERE key = 'access_version';
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
       CASE WHEN g.usd THEN 'USD' ELSE 'CNY' END, date '2026-01-01' + (g.n % 730)::int, st.probability, st.forecast_category, 'new',
       st.category, CASE WHEN g.usd THEN 7.1 ELSE 1 END, CASE WHEN g.usd THEN round(g.amount * 7.1)::int8 ELSE g.amount END,
       now() - make_interval(days => (g.n % 90)::int),
       CASE WHEN st.category = 'won' THEN timestamptz '2026-01-01 00:00:00+00' + make_interval(hours => (g.n % 17520)::int) END,
       CASE WHEN st.category = 'lost' THEN timestamptz '2026-01-01 00:00:00+00' + make_interval(hours => (g.n % 17520)::int) END
FROM (SELECT n, 100 + (n * 7919) % 10000000 AS amount, n % 10 = 0 AS usd, CASE WHEN n % 2 = 0 THEN 'sales' ELSE 'renewals' END AS pipe,
             (n / 2) * 2654435761 % 1000 AS r FROM generate_series(1::bigint, $total) n) g
JOIN st ON st.pipeline = g.pipe AND st.i = g.r % st.n;
SET session_replication_role = DEFAULT;
-- What the (switched off) board trigger keeps, computed once, as sales migration 6 does.
INSERT INTO opportunity_board_totals (pipeline, stage, owner_id, n, base_sum, weighted)
SELECT pipeline, stage, coalesce(owner_id, '00000000-0000-0000-0000-000000000000'), count(*), coalesce(sum(amount_base_minor), 0),
       coalesce(sum(amount_base_minor::numeric * probability), 0)
FROM opportunities WHERE deleted_at IS NULL GROUP BY 1, 2, 3;
-- And what the (switched off) forecast trigger keeps, as sales migration 7 does.
INSERT INTO opportunity_forecast_totals (pipeline, owner_id, status, forecast_category, month, n, base_sum, weighted)
SELECT coalesce(pipeline, ''), coalesce(owner_id, '00000000-0000-0000-0000-000000000000'), status, coalesce(forecast_category, ''),
       crm_opportunity_forecast_month(status, expected_close_date, won_at), count(*), coalesce(sum(amount_base_minor), 0),
       coalesce(sum(amount_base_minor::numeric * probability), 0)
FROM opportunities
WHERE deleted_at IS NULL AND crm_opportunity_forecast_month(status, expected_close_date, won_at) IS NOT NULL
GROUP BY 1, 2, 3, 4, 5;
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
  local psql_cmd="psql -X -q -tA -h $(socket_dir "$DATA") -p $PORT -U postgres -d crm_bench"
  [ "$(id -u)" -eq 0 ] && psql_cmd="runuser -u postgres -- $psql_cmd"
  check=$(BASE="$base" SLUG="$slug" ADMIN="$admin" MANAGER="$manager" PERIOD="$period" PSQL="$psql_cmd" SCHEMA="$schema" \
    python3 "$ROOT/ops/bench-sales-check.py") || { echo "$check" >&2; echo "the sales answers differ from the reference" >&2; exit 1; }
  report "sales: $check"
  for who in admin manager; do
    local token=$admin scope="the admin, all $count"
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
  commission_bench
  restage_bench
}

# Removing a stage that holds ${RESTAGE_DEALS:-10000} open deals: refused without a map (409), then
# PUT …/stages with the map, timed: every deal moved through the records pipeline (history, change
# events, versions, stage history) in one transaction. Target: under 2 s (spec 2.7 #1).
restage_bench() {
  local n=${RESTAGE_DEALS:-10000}
  local stages='{"key":"contact","label":"Contact","probability":30},{"key":"terms","label":"Terms","probability":70,"forecast_category":"commit"},
    {"key":"renewed","label":"Renewed","category":"won"},{"key":"churned","label":"Churned","category":"lost"}'
  api PUT /api/v1/admin/pipelines/renewals/stages "{\"stages\":[{\"key\":\"hold\",\"label\":\"On hold\",\"probability\":20},$stages]}" >/dev/null \
    || { echo "adding the stage failed" >&2; exit 1; }
  su_psql "$DATA" "$PORT" -d crm_bench >/dev/null <<SQL
SET search_path = "$schema";
UPDATE opportunities SET stage = 'hold', probability = 20 WHERE id IN (
    SELECT id FROM opportunities WHERE pipeline = 'renewals' AND stage = 'contact' AND deleted_at IS NULL ORDER BY id LIMIT $n);
VACUUM (ANALYZE) opportunities;
SQL
  local held refused s e
  held=$(su_psql "$DATA" "$PORT" -d crm_bench -tAc "SELECT count(*) FROM \"$schema\".opportunities WHERE pipeline = 'renewals' AND stage = 'hold'")
  refused=$(curl -s -o /dev/null -w '%{http_code}' -X PUT "$base/api/v1/admin/pipelines/renewals/stages" -H "X-Tenant: $slug" \
    -H "Authorization: Bearer $admin" -H 'Content-Type: application/json' -d "{\"stages\":[$stages]}")
  [ "$refused" = 409 ] || { echo "removing a stage holding deals without a map answered $refused, not 409" >&2; exit 1; }
  s=$(date +%s.%N)
  api PUT /api/v1/admin/pipelines/renewals/stages "{\"stages\":[$stages],\"map\":{\"hold\":\"terms\"}}" >/dev/null \
    || { echo "the restage failed" >&2; exit 1; }
  e=$(date +%s.%N)
  local left
  left=$(su_psql "$DATA" "$PORT" -d crm_bench -tAc "SELECT count(*) FROM \"$schema\".opportunities WHERE pipeline = 'renewals' AND stage = 'hold'")
  report "sales: removing a stage holding $held deals: without a map 409; with map hold → terms $(python3 -c "print(f'{$e-$s:.2f}')") s, $left left in it"
}

# A commission period of ${COMMISSION_PAYMENTS:-100000} confirmed payments (one allocation each, on
# 20,000 orders of the 200 owners), a plan of 3 % with 5 % above each owner's collected quota:
# POST /api/v1/commissions/runs timed twice; the second must write identical entries. Target:
# under 10 s, set-based.
commission_bench() {
  local n=${COMMISSION_PAYMENTS:-100000}
  su_psql "$DATA" "$PORT" -d crm_bench >/dev/null <<SQL
SET search_path = "$schema";
SET session_replication_role = replica;
INSERT INTO sales_orders (id, owner_id, created_at, updated_at, number, customer_id, order_date, currency, amount_minor, status, fx_rate,
                          amount_base_minor, collected_minor, outstanding_minor, payment_status)
SELECT ('00000000-0000-7000-c000-' || lpad(to_hex(o), 12, '0'))::uuid, ('00000000-0000-7000-9000-' || lpad(to_hex(1 + o % 200), 12, '0'))::uuid,
       now(), now(), 'SO-BENCH-' || o, ('00000000-0000-7000-b000-' || lpad(to_hex(1 + o % 50000), 12, '0'))::uuid, date '2026-10-01', 'CNY',
       100000000, 'confirmed', 1, 100000000, 0, 100000000, 'partial'
FROM generate_series(1, 20000) o;
INSERT INTO payments (id, number, customer_id, received_on, amount_minor, currency, fx_rate, amount_base_minor, method, status, allocated_minor,
                      confirmed_at)
SELECT ('00000000-0000-7000-d000-' || lpad(to_hex(p), 12, '0'))::uuid, 'PAY-BENCH-' || p,
       ('00000000-0000-7000-b000-' || lpad(to_hex(1 + (p % 20000) % 50000), 12, '0'))::uuid, date '2026-11-01' + (p % 30),
       1000 + (p * 7919) % 500000, 'CNY', 1, 1000 + (p * 7919) % 500000, 'bank_transfer', 'confirmed', 1000 + (p * 7919) % 500000, now()
FROM generate_series(1, $n) p;
INSERT INTO payment_allocations (id, payment_id, order_id, amount_minor, state)
SELECT ('00000000-0000-7000-e000-' || lpad(to_hex(p), 12, '0'))::uuid, ('00000000-0000-7000-d000-' || lpad(to_hex(p), 12, '0'))::uuid,
       ('00000000-0000-7000-c000-' || lpad(to_hex(1 + p % 20000), 12, '0'))::uuid, 1000 + (p * 7919) % 500000, 'applied'
FROM generate_series(1, $n) p;
SET session_replication_role = DEFAULT;
VACUUM (ANALYZE) sales_orders, payments, payment_allocations;
SQL
  local users quotas
  users=$(su_psql "$DATA" "$PORT" -d crm_bench -tAc "SELECT string_agg('\"' || id || '\"', ',') FROM \"$schema\".users WHERE email LIKE 'rep%@bench.example'")
  quotas=$(su_psql "$DATA" "$PORT" -d crm_bench -tAc "SELECT string_agg('{\"period\":\"2026-11\",\"measure\":\"collected\",\"amount_minor\":50000000,\"user_id\":\"' || id || '\"}', ',')
    FROM \"$schema\".users WHERE email LIKE 'rep%@bench.example'")
  api POST /api/v1/admin/commission-plans "{\"name\":\"Bench\",\"rate\":3,\"tiers\":[{\"above_percent_of_quota\":100,\"rate\":5}],\"user_ids\":[$users]}" >/dev/null
  api PUT /api/v1/admin/quotas "{\"quotas\":[$quotas]}" >/dev/null
  local digest=() took=() out
  for i in 1 2; do
    local s e
    s=$(date +%s.%N)
    out=$(curl -sf -X POST "$base/api/v1/commissions/runs" -H "X-Tenant: $slug" -H "Authorization: Bearer $admin" -H 'Content-Type: application/json' \
      -d '{"period":"2026-11"}') || { echo "the commission run failed" >&2; exit 1; }
    e=$(date +%s.%N)
    took+=("$(python3 -c "print(f'{$e-$s:.2f}')")")
    digest+=("$(su_psql "$DATA" "$PORT" -d crm_bench -tAc "SELECT md5(string_agg(concat_ws('|', period, user_id, kind, source_id, basis_minor, amount_minor, status), ',' ORDER BY user_id, source_id))
      FROM \"$schema\".commission_entries WHERE period = '2026-11'")")
  done
  [ "${digest[0]}" = "${digest[1]}" ] || { echo "the second commission run wrote other entries" >&2; exit 1; }
  report "sales: commission run over $n payments (200 users, tiers above quota): ${took[0]} s, again ${took[1]} s (identical entries, md5 ${digest[0]:0:12}); $out"
}
