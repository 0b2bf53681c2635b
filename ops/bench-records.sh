# The records scenario of ops/bench (sourced; uses its variables and functions): 1,000 tenants,
# one of them with 100,000 customers and 20 custom fields; wrk at 32 connections against GET by
# id and a filtered list of 50, and pgbench on the same SELECT at the same concurrency.
# tenants_lua LIST SEED: a wrk script reading "slug token customer-id" lines (crm-bench
# seed-sessions) and sending each request as a random one of those tenants, by its own token.
tenants_lua() {
  cat <<LUA
local tenants = {}
for line in io.lines("$1") do
  local slug, token, id = line:match("(%S+) (%S+) (%S+)")
  tenants[#tenants + 1] = {slug, "Bearer " .. token, "/api/v1/records/customer/" .. id}
end
math.randomseed($2)
request = function()
  local t = tenants[math.random(1, #tenants)]
  return wrk.format("GET", t[3], {["X-Tenant"] = t[1], ["Authorization"] = t[2]})
end
LUA
}

records_bench() {
  local slug=bench-rec pw="Bench-Records-Password-1" base="http://127.0.0.1:$HTTP_PORT"
  [ -n "$SERVER_PID" ] && { kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true; SERVER_PID=""; }
  local have
  # Tenant schemas, not catalog rows: the billing scenario adds 10,000 tenants without schemas.
  have=$(su_psql "$DATA" "$PORT" -d crm_bench -tAc "SELECT count(*) FROM pg_namespace WHERE nspname LIKE 't\_%' AND nspname NOT LIKE '%\_\_%'")
  if [ "$have" -lt 1000 ]; then
    stop_cluster "$DATA"; start_cluster "$DATA" "$PORT" fast
    "$BENCH" seed-tenants --count $((1000 - have)) | sed 's/^/  /'
    stop_cluster "$DATA"; start_cluster "$DATA" "$PORT"
  fi
  printf '%s\n' "$pw" | "$CRM" tenant create --slug "$slug" --name "Bench Records" --admin-email rec@bench.example --admin-name Rec >/dev/null
  start_server CRM_SPARE_SCHEMAS=0 "$@"
  local token schema
  token=$(curl -sf -X POST "$base/api/v1/auth/login" -H "X-Tenant: $slug" -H 'Content-Type: application/json' \
    -d "{\"email\":\"rec@bench.example\",\"password\":\"$pw\"}" | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
  schema=$("$CRM" tenant show "$slug" | awk '/^schema:/{print $2}')
  field() { curl -sf -o /dev/null -X POST "$base/api/v1/admin/objects/customer/fields" -H "X-Tenant: $slug" \
    -H "Authorization: Bearer $token" -H 'Content-Type: application/json' -d "$1"; }
  for i in $(seq 1 19); do
    case $((i % 4)) in
      0) field "{\"api_name\":\"cf_text_$i\",\"label\":\"Text $i\",\"type\":\"text\"}" ;;
      1) field "{\"api_name\":\"cf_int_$i\",\"label\":\"Int $i\",\"type\":\"integer\"}" ;;
      2) field "{\"api_name\":\"cf_date_$i\",\"label\":\"Date $i\",\"type\":\"date\"}" ;;
      3) field "{\"api_name\":\"cf_amount_$i\",\"label\":\"Amount $i\",\"type\":\"currency\"}" ;;
    esac
  done
  # 100,000 customers with deterministic ids (…-8000-<n in hex>) so wrk and pgbench pick the same rows.
  local owner
  owner=$(su_psql "$DATA" "$PORT" -d crm_bench -tAc "SELECT id FROM \"$schema\".users LIMIT 1")
  su_psql "$DATA" "$PORT" -d crm_bench >/dev/null <<SQL
INSERT INTO "$schema".customers (id, owner_id, name, kind, industry, level, phone, email, cf_cf_int_1, cf_cf_amount_3, cf_cf_text_4, cf_cf_date_2)
SELECT ('00000000-0000-7000-8000-' || lpad(to_hex(n), 12, '0'))::uuid, '$owner',
       'Customer ' || n || CASE WHEN n % 3 = 0 THEN ' 贸易有限公司' ELSE ' Trading Ltd' END, 'company',
       (ARRAY['manufacturing','retail','trading','services','technology','other'])[1 + n % 6],
       (ARRAY['vip','important','normal'])[1 + n % 3], '+86 138' || lpad((n % 100000000)::text, 8, '0'),
       'c' || n || '@example.com', n % 1000, (n % 100000) / 7.0, 'note ' || n, date '2020-01-01' + (n % 2000)
FROM generate_series(1, 100000) n;
-- Hint bits and the visibility map set now, not by the first measured reads.
VACUUM (ANALYZE) "$schema".customers;
CHECKPOINT;
SQL
  local start end
  start=$(date +%s.%N)
  field '{"api_name":"cf_last","label":"Last","type":"text"}'
  end=$(date +%s.%N)
  report "records: adding a nullable custom field (column, index, metadata) to the 100,000-row table over HTTP: $(python3 -c "print(f'{($end-$start)*1000:.0f}')") ms"

  cat > "$TMP/get.lua" <<LUA
wrk.headers["X-Tenant"] = "$slug"
wrk.headers["Authorization"] = "Bearer $token"
math.randomseed(42)
request = function()
  return wrk.format("GET", string.format("/api/v1/records/customer/00000000-0000-7000-8000-%012x", math.random(1, 100000)))
end
LUA
  cat > "$TMP/list.lua" <<LUA
wrk.headers["X-Tenant"] = "$slug"
wrk.headers["Authorization"] = "Bearer $token"
local industries = {"manufacturing", "retail", "trading", "services", "technology", "other"}
math.randomseed(7)
request = function()
  return wrk.format("GET", "/api/v1/records/customer?limit=50&industry=" .. industries[math.random(1, 6)])
end
LUA
  curl -sf "$base/api/v1/records/customer/00000000-0000-7000-8000-000000000001" -H "X-Tenant: $slug" -H "Authorization: Bearer $token" >/dev/null \
    || { echo "GET by id failed" >&2; exit 1; }
  if [ -n "${BENCH_AB_BINARY:-}" ]; then
    # BENCH_AB_BINARY=/path/to/an-older/crm: only alternating pairs, that binary then this build,
    # twice: the one-trip GET and the list of 50 (a server change judged by pairs).
    records_pair() {
      wrk -t2 -c32 -d5s -s "$TMP/get.lua" "$base" >/dev/null   # warm-up
      measured_wrk "records A/B $1: GET by id, one trip, 32 connections, $2" -t2 -c32 -d15s -s "$TMP/get.lua" "$base"
      measured_wrk "records A/B $1: list of 50 with one filter, 32 connections, $2" -t2 -c32 -d15s -s "$TMP/list.lua" "$base"
    }
    ab_pairs records_pair CRM_SPARE_SCHEMAS=0 "$@"
    return
  fi
  if [ "${BENCH_AB:-0}" = 1 ]; then
    # BENCH_AB=1: only alternating pairs, each change off then on, twice, in one seeded cluster.
    # Single runs here spread by ±25 %, so a change is judged by pairs taken side by side.
    local round flag
    for round in 1 2; do
      for flag in false true; do
        start_server CRM_SPARE_SCHEMAS=0 CRM_PREPARED_STATEMENTS=$flag "$@"
        wrk -t2 -c32 -d5s -s "$TMP/get.lua" "$base" >/dev/null   # warm-up
        measured_wrk "records A/B $round: GET by id, one trip, 32 connections, CRM_PREPARED_STATEMENTS=$flag" -t2 -c32 -d15s -s "$TMP/get.lua" "$base"
      done
      for flag in false true; do
        start_server CRM_SPARE_SCHEMAS=0 CRM_ONE_TRIP_READS=false CRM_SESSION_FUNCTION=$flag "$@"
        wrk -t2 -c32 -d5s -s "$TMP/get.lua" "$base" >/dev/null   # warm-up
        measured_wrk "records A/B $round: GET by id, ordinary path, 32 connections, CRM_SESSION_FUNCTION=$flag" -t2 -c32 -d15s -s "$TMP/get.lua" "$base"
        measured_wrk "records A/B $round: list of 50 with one filter, 32 connections, CRM_SESSION_FUNCTION=$flag" -t2 -c32 -d15s -s "$TMP/list.lua" "$base"
      done
    done
    # The same across 1,000 tenants, each with its own token and customer: the cold path of a
    # hosted service, where a pooled connection rarely sees one tenant's statement twice in a row.
    "$BENCH" seed-sessions --tenants 1000 > "$TMP/tenants.txt"
    tenants_lua "$TMP/tenants.txt" 11 > "$TMP/many.lua"
    local tenants_n
    tenants_n=$(wc -l < "$TMP/tenants.txt")
    for round in 1 2; do
      for flag in false true; do
        start_server CRM_SPARE_SCHEMAS=0 CRM_PREPARED_STATEMENTS=$flag "$@"
        wrk -t2 -c32 -d10s -s "$TMP/many.lua" "$base" >/dev/null   # warm-up: every tenant's caches filled
        measured_wrk "records A/B $round: GET by id across $tenants_n tenants, one trip, 32 connections, CRM_PREPARED_STATEMENTS=$flag" -t2 -c32 -d15s -s "$TMP/many.lua" "$base"
      done
      for flag in false true; do
        start_server CRM_SPARE_SCHEMAS=0 CRM_ONE_TRIP_READS=false CRM_SESSION_FUNCTION=$flag "$@"
        wrk -t2 -c32 -d10s -s "$TMP/many.lua" "$base" >/dev/null   # warm-up
        measured_wrk "records A/B $round: GET by id across $tenants_n tenants, ordinary path, 32 connections, CRM_SESSION_FUNCTION=$flag" -t2 -c32 -d15s -s "$TMP/many.lua" "$base"
      done
    done
    # PostgreSQL's side of entering the tenant and checking the token, alone: two statements
    # against the session function (both in BEGIN … COMMIT, as a request sends them).
    local tokhex
    tokhex=$(su_psql "$DATA" "$PORT" -d crm_bench -tAc \
      "SELECT encode(token_hash, 'hex') FROM \"$schema\".auth_tokens WHERE revoked_at IS NULL ORDER BY created_at DESC LIMIT 1")
    printf '%s\n' "BEGIN;" "SELECT set_config('role', 'crm_$schema', true), set_config('search_path', '$schema', true);" \
      "SELECT t.id, t.kind, t.read_only, t.last_used_at, t.expires_at, u.id, u.email, u.name, u.is_active, u.is_admin, u.department_id, u.created_at, coalesce((SELECT (st.value #>> '{}')::int8 FROM settings st WHERE st.key = 'access_version'), 0), coalesce((SELECT (st.value #>> '{}')::int8 FROM settings st WHERE st.key = 'metadata_version'), 0) FROM auth_tokens t JOIN users u ON u.id = t.user_id WHERE t.token_hash = '\\x$tokhex'::bytea AND t.revoked_at IS NULL;" \
      "COMMIT;" > "$TMP/pgbench-enter-two.sql"
    printf '%s\n' "BEGIN;" "SELECT * FROM \"$schema\".crm_session_v1('\\x$tokhex'::bytea, NULL);" "COMMIT;" > "$TMP/pgbench-enter-fn.sql"
    for round in 1 2; do
      measured_pgbench "records A/B $round: pgbench, BEGIN + set_config + token SELECT + COMMIT, 32 clients" -M extended -c 32 -j 2 -T 10 -f "$TMP/pgbench-enter-two.sql"
      measured_pgbench "records A/B $round: pgbench, BEGIN + crm_session_v1 + COMMIT, 32 clients" -M extended -c 32 -j 2 -T 10 -f "$TMP/pgbench-enter-fn.sql"
    done
    return
  fi
  local mode
  # First the ordinary path (BEGIN, set_config, token, read, COMMIT), then one round trip.
  for mode in false true; do
    start_server CRM_SPARE_SCHEMAS=0 CRM_ONE_TRIP_READS=$mode "$@"
    wrk -t2 -c32 -d5s -s "$TMP/get.lua" "$base" >/dev/null   # warm-up
    measured_wrk "records: GET /api/v1/records/customer/{id}, 32 connections, one-trip reads $mode" -t2 -c32 -d15s -s "$TMP/get.lua" "$base"
  done
  # The same at 8 connections: on 2 cores shared by wrk, the server and PostgreSQL, 32 connections
  # mostly measure queueing (pgbench's own average latency for the bare SELECT is ~11 ms there).
  measured_wrk "records: GET /api/v1/records/customer/{id}, 8 connections, one-trip reads true" -t2 -c8 -d15s -s "$TMP/get.lua" "$base"
  measured_wrk "records: GET /api/v1/records/customer?industry=…&limit=50, 32 connections" -t2 -c32 -d15s -s "$TMP/list.lua" "$base"
  # The floor: the same server answering a fixed body through the same middleware (no tenant, no database).
  measured_wrk "records: GET /healthz (no database), 32 connections" -t2 -c32 -d10s "$base/healthz"
  # The same server on PostgreSQL's unix socket instead of TCP to 127.0.0.1 (as pgbench below connects):
  # what a database on the same host saves in kernel time on both sides.
  start_server CRM_SPARE_SCHEMAS=0 CRM_DATABASE_SOCKET="$(socket_dir "$DATA")/.s.PGSQL.$PORT" "$@"
  wrk -t2 -c32 -d5s -s "$TMP/get.lua" "$base" >/dev/null   # warm-up
  measured_wrk "records: GET /api/v1/records/customer/{id}, 32 connections, one-trip reads true, unix socket" -t2 -c32 -d15s -s "$TMP/get.lua" "$base"
  measured_wrk "records: GET /api/v1/records/customer?industry=…&limit=50, 32 connections, unix socket" -t2 -c32 -d15s -s "$TMP/list.lua" "$base"

  # pgbench on the server's own SELECT for one record, same concurrency, extended protocol.
  local select
  select=$("$BENCH" record-select --slug "$slug")
  local qualified="${select//FROM \"customers\"/FROM \"$schema\".\"customers\"}"
  # The id expression goes through a variable: quotes in a literal replacement would be removed.
  local idexpr="('00000000-0000-7000-8000-' || lpad(to_hex(:n::int), 12, '0'))::uuid"
  printf '%s\n' "\\set n random(1, 100000)" "${qualified//\$ID/$idexpr}" > "$TMP/pgbench.sql"
  printf '%s\n' "\\set n random(1, 100000)" "BEGIN;" "SELECT set_config('role', 'crm_$schema', true), set_config('search_path', '$schema', true);" \
    "${select//\$ID/$idexpr}" "COMMIT;" > "$TMP/pgbench-tx.sql"
  local pgbench=(-f "$TMP/pgbench.sql" -j 2 -T 15)
  measured_pgbench "records: pgbench, the same SELECT alone, 32 clients, extended protocol" -M extended -c 32 "${pgbench[@]}"
  measured_pgbench "records: pgbench, the same SELECT alone, 8 clients, extended protocol" -M extended -c 8 "${pgbench[@]}"
  # Prepared: parsed and planned once per connection.
  measured_pgbench "records: pgbench, the same SELECT alone, 32 clients, prepared" -M prepared -c 32 "${pgbench[@]}"
  measured_pgbench "records: pgbench, BEGIN + set_config + the SELECT + COMMIT (4 round trips), 32 clients" -M extended -c 32 -j 2 -T 15 -f "$TMP/pgbench-tx.sql"
  # The one-trip read's own statement (the generated read function, token check included), as the server sends it.
  local tokhex uid
  read -r tokhex uid < <(su_psql "$DATA" "$PORT" -d crm_bench -tA -F ' ' -c \
    "SELECT encode(token_hash, 'hex'), user_id FROM \"$schema\".auth_tokens WHERE revoked_at IS NULL ORDER BY created_at DESC LIMIT 1")
  printf '%s\n' "\\set n random(1, 100000)" \
    "SELECT * FROM \"$schema\".crm_read_customer('\\x$tokhex'::bytea, '$uid'::uuid, $idexpr, true, '{}'::uuid[], '{}'::text[]);" > "$TMP/pgbench-fn.sql"
  measured_pgbench "records: pgbench, the one-trip read function, 32 clients, extended protocol" -M extended -c 32 -j 2 -T 15 -f "$TMP/pgbench-fn.sql"
  measured_pgbench "records: pgbench, the one-trip read function, 32 clients, prepared" -M prepared -c 32 -j 2 -T 15 -f "$TMP/pgbench-fn.sql"
  # Memory with many tenants touched: their metadata and access models through the server's
  # bounded caches (1,000 tenants), each loaded afresh from a schema of the 1,000 here.
  "$BENCH" cache-memory --tenants 10000 --step 2000 | while read -r line; do report "records: $line"; done
}
