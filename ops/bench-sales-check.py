"""ops/bench sales: the board and the forecast from the API against brute-force SQL.

Reads BASE, SLUG, ADMIN, MANAGER (tokens), PERIOD (2026-Q4), PSQL (a psql command line as
superuser), SCHEMA. Prints one line of what was compared; exits 1 naming the first difference.
"""
import json, os, shlex, subprocess, sys, urllib.error, urllib.request

E = os.environ
SCHEMA = E["SCHEMA"]


def get(path, token):
    req = urllib.request.Request(E["BASE"] + path, headers={"X-Tenant": E["SLUG"], "Authorization": "Bearer " + token})
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return json.load(r)
    except urllib.error.HTTPError as e:
        fail(f"GET {path}: {e.code} {e.read()[:300]!r}")


def sql(query):
    out = subprocess.run(shlex.split(E["PSQL"]) + ["-c", f'SET search_path = "{SCHEMA}"; ' + query],
                         check=True, capture_output=True, text=True).stdout
    return [line.split("|") for line in out.strip().splitlines() if line]


def fail(what):
    print(what)
    sys.exit(1)


MANAGER_SCOPE = """o.owner_id IN (SELECT u.id FROM users u WHERE u.department_id IN (
    WITH RECURSIVE sub(id) AS (SELECT department_id FROM users WHERE email = 'rep1@bench.example'
        UNION ALL SELECT d.id FROM departments d JOIN sub ON d.parent_id = sub.id) SELECT id FROM sub))"""

checked = []
for who, token, scope in [("admin", E["ADMIN"], "true"), ("manager", E["MANAGER"], MANAGER_SCOPE)]:
    board = get("/api/v1/opportunities/board?pipeline=sales", token)
    ref = {r[0]: (int(r[1]), int(r[2]), int(r[3])) for r in sql(f"""
        SELECT o.stage, count(*), coalesce(sum(o.amount_base_minor), 0), coalesce(round(sum(o.amount_base_minor::numeric * o.probability) / 100), 0)
        FROM opportunities o WHERE o.deleted_at IS NULL AND o.pipeline = 'sales' AND {scope} GROUP BY o.stage""")}
    for s in board["stages"]:
        got = (s["count"], s["amount_base_minor"], s["weighted_base_minor"])
        if got != ref.get(s["key"], (0, 0, 0)):
            fail(f"board as {who}, stage {s['key']}: API {got}, SQL {ref.get(s['key'])}")
    checked.append(f"board as {who} ({board['totals']['count']} deals)")

    fc = get(f"/api/v1/forecast?period={E['PERIOD']}&group_by=department", token)
    start, end = fc["from"], fc["to"]
    ref = {r[0]: tuple(int(x) for x in r[1:]) for r in sql(f"""
        WITH RECURSIVE up(dept, ancestor) AS (
            SELECT id, id FROM departments UNION ALL
            SELECT up.dept, d.parent_id FROM up JOIN departments d ON d.id = up.ancestor WHERE d.parent_id IS NOT NULL),
        o AS (SELECT o.* FROM opportunities o WHERE o.deleted_at IS NULL AND {scope}
              AND ((o.status = 'open' AND o.expected_close_date >= '{start}' AND o.expected_close_date < '{end}')
                OR (o.status = 'won' AND o.won_at >= timestamptz '{start} 00:00:00+00' AND o.won_at < timestamptz '{end} 00:00:00+00')))
        SELECT up.ancestor, count(*),
            coalesce(sum(o.amount_base_minor) FILTER (WHERE o.status = 'won'), 0),
            coalesce(sum(o.amount_base_minor) FILTER (WHERE o.status = 'open' AND o.forecast_category = 'commit'), 0),
            coalesce(sum(o.amount_base_minor) FILTER (WHERE o.status = 'open' AND o.forecast_category = 'best_case'), 0),
            coalesce(sum(o.amount_base_minor) FILTER (WHERE o.status = 'open' AND o.forecast_category = 'pipeline'), 0),
            coalesce(round(sum(o.amount_base_minor::numeric * o.probability) FILTER (WHERE o.status = 'open' AND o.forecast_category <> 'omitted') / 100), 0)
        FROM o JOIN users u ON u.id = o.owner_id JOIN up ON up.dept = u.department_id GROUP BY up.ancestor""")}
    for row in fc["rows"]:
        f = row["figures"]
        got = (f["count"], f["closed_base_minor"], f["commit_base_minor"], f["best_case_base_minor"], f["pipeline_base_minor"], f["weighted_base_minor"])
        want = ref.get(row["id"], (0, 0, 0, 0, 0, 0))
        if got != want:
            fail(f"forecast as {who}, department {row['name']}: API {got}, SQL {want}")
    checked.append(f"forecast {E['PERIOD']} as {who} ({len(fc['rows'])} departments, {fc['totals']['count']} deals)")

print("equal to the SQL reference: " + "; ".join(checked))
