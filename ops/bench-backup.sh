# The backup scenario of ops/bench (sourced; uses its variables and functions): 1,000 tenant
# schemas, one with 100,000 customers (5 custom fields) and 100,000 contacts; then the bundle
# backup, a restore under a new slug, an in-place restore and a customer export, each timed,
# and the copy's per-table counts and SHA-256 compared with the original's.
backup_bench() {
  local slug=bench-bak pw="Bench-Backup-Password-1" base="http://127.0.0.1:$HTTP_PORT" out="$TMP/bundles"
  [ -n "$SERVER_PID" ] && { kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true; SERVER_PID=""; }
  local have start end
  # Tenant schemas, not catalog rows: the billing scenario adds 10,000 tenants without schemas.
  have=$(su_psql "$DATA" "$PORT" -d crm_bench -tAc "SELECT count(*) FROM pg_namespace WHERE nspname LIKE 't\_%' AND nspname NOT LIKE '%\_\_%'")
  if [ "$have" -lt 1000 ]; then
    # Seeding is set-up: durability off, then the cluster restarts with the defaults.
    stop_cluster "$DATA"; start_cluster "$DATA" "$PORT" fast
    start=$(date +%s.%N)
    "$BENCH" seed-tenants --count $((1000 - have)) | sed 's/^/  /'
    end=$(date +%s.%N)
    report "backup: set-up: $((1000 - have)) tenant schemas created in $(python3 -c "print(f'{$end-$start:.0f}')") s (crm-bench seed-tenants, durability off)"
    stop_cluster "$DATA"; start_cluster "$DATA" "$PORT"
  fi
  report "backup: $("$CRM" tenant list --limit 100000 | wc -l) tenants in the catalog, $(su_psql "$DATA" "$PORT" -d crm_bench -tAc "SELECT count(*) FROM pg_namespace WHERE nspname LIKE 't\_%' AND nspname NOT LIKE '%\_\_%'") tenant schemas, $(su_psql "$DATA" "$PORT" -d crm_bench -tAc "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname LIKE 't\_%' AND c.relkind = 'r'") tenant tables; max_locks_per_transaction = $(su_psql "$DATA" "$PORT" -d crm_bench -tAc "SHOW max_locks_per_transaction"), max_connections = $(su_psql "$DATA" "$PORT" -d crm_bench -tAc "SHOW max_connections")"
  printf '%s\n' "$pw" | "$CRM" tenant create --slug "$slug" --name "Bench Backup" --admin-email bak@bench.example --admin-name Bak >/dev/null
  start_server CRM_SPARE_SCHEMAS=0
  local token schema owner
  token=$(curl -sf -X POST "$base/api/v1/auth/login" -H "X-Tenant: $slug" -H 'Content-Type: application/json' \
    -d "{\"email\":\"bak@bench.example\",\"password\":\"$pw\"}" | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
  for f in '{"api_name":"region","label":"Region","type":"text"}' '{"api_name":"score","label":"Score","type":"integer"}' \
           '{"api_name":"since","label":"Since","type":"date"}' '{"api_name":"budget","label":"Budget","type":"currency"}' \
           '{"api_name":"notes","label":"Notes","type":"long_text"}'; do
    curl -sf -o /dev/null -X POST "$base/api/v1/admin/objects/customer/fields" -H "X-Tenant: $slug" \
      -H "Authorization: Bearer $token" -H 'Content-Type: application/json' -d "$f"
  done
  kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true; SERVER_PID=""
  schema=$("$CRM" tenant show "$slug" | awk '/^schema:/{print $2}')
  owner=$(su_psql "$DATA" "$PORT" -d crm_bench -tAc "SELECT id FROM \"$schema\".users LIMIT 1")
  su_psql "$DATA" "$PORT" -d crm_bench >/dev/null <<SQL
INSERT INTO "$schema".customers (id, owner_id, name, kind, industry, level, phone, email, cf_region, cf_score, cf_since, cf_budget, cf_notes)
SELECT ('00000000-0000-7000-8000-' || lpad(to_hex(n), 12, '0'))::uuid, '$owner',
       'Customer ' || n || CASE WHEN n % 3 = 0 THEN ' 贸易有限公司' ELSE ' Trading Ltd' END, 'company',
       (ARRAY['manufacturing','retail','trading','services','technology','other'])[1 + n % 6],
       (ARRAY['vip','important','normal'])[1 + n % 3], '+86 138' || lpad((n % 100000000)::text, 8, '0'),
       'c' || n || '@example.com', 'r' || (n % 7), n % 1000, date '2020-01-01' + (n % 2000), (n % 100000) / 7.0,
       CASE WHEN n % 10 = 0 THEN E'line one\nline two\twith tab \\\\ and backslash' END
FROM generate_series(1, 100000) n;
INSERT INTO "$schema".contacts (id, owner_id, customer_id, name, email, phone)
SELECT ('00000000-0000-7000-9000-' || lpad(to_hex(n), 12, '0'))::uuid, '$owner', ('00000000-0000-7000-8000-' || lpad(to_hex(n), 12, '0'))::uuid,
       'Contact ' || n, 'p' || n || '@example.com', '+86 139' || lpad(n::text, 8, '0')
FROM generate_series(1, 100000) n;
VACUUM (ANALYZE) "$schema".customers, "$schema".contacts;
CHECKPOINT;
SQL
  mkdir -p "$out"
  start=$(date +%s.%N)
  "$CRM" tenant backup "$slug" --out "$out" > "$TMP/backup.txt"
  end=$(date +%s.%N)
  local bundle
  bundle=$(awk '/^bundle:/{print $2}' "$TMP/backup.txt")
  report "backup: crm tenant backup of 200,000 records (100,000 customers + 100,000 contacts) among 1,000 tenants: $(python3 -c "print(f'{$end-$start:.2f}')") s wall, process start included ($(head -1 "$TMP/backup.txt")); bundle $(du -sh "$bundle" | cut -f1)"
  start=$(date +%s.%N)
  "$CRM" tenant restore "$bundle" --as "$slug-copy" > "$TMP/restore.txt"
  end=$(date +%s.%N)
  report "backup: crm tenant restore --as $slug-copy (schema from migrations + COPY + verify): $(python3 -c "print(f'{$end-$start:.2f}')") s wall ($(cat "$TMP/restore.txt"))"
  "$CRM" tenant backup "$slug-copy" --out "$out" > "$TMP/backup2.txt"
  local copy
  copy=$(awk '/^bundle:/{print $2}' "$TMP/backup2.txt")
  report "backup: $(python3 - "$bundle/manifest.json" "$copy/manifest.json" <<'PY'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
ta = {t["name"]: (t["rows"], t["sha256"]) for t in a["tables"]}
tb = {t["name"]: (t["rows"], t["sha256"]) for t in b["tables"]}
same = [n for n in ta if tb.get(n) == ta[n]]
diff = sorted(set(ta) ^ set(tb) | {n for n in ta if n in tb and tb[n] != ta[n]})
print(f"copy vs original: {len(same)}/{len(ta)} tables with identical row counts and SHA-256, {sum(r for r, _ in ta.values())} rows; differing: {diff or 'none'}")
PY
)"
  start=$(date +%s.%N)
  "$CRM" tenant restore "$bundle" > "$TMP/inplace.txt"
  end=$(date +%s.%N)
  report "backup: in-place restore of the same bundle (pre-restore bundle + restore + swap): $(python3 -c "print(f'{$end-$start:.2f}')") s wall; $(tail -1 "$TMP/inplace.txt" | cut -c1-160)"
  start=$(date +%s.%N)
  "$CRM" tenant export "$slug" --format csv --out "$TMP/export" > /dev/null
  end=$(date +%s.%N)
  report "backup: crm tenant export --format csv (every object, 200,000 records): $(python3 -c "print(f'{$end-$start:.2f}')") s"
  rm -rf "$out" "$TMP/export"
}
