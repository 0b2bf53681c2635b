"""Hostile bodies: each must be a 4xx problem answer within a second, and write nothing."""
import json

from harness import Result, ms

LIMIT = 1.0  # seconds a hostile body may cost


def bodies():
    distinct_tags = json.dumps({"name": "Tags", "tags": ["t%d" % i for i in range(190_000)]})
    deep_array = "[" * 100_000 + "]" * 100_000
    deep_object = '{"a":' * 50_000 + "1" + "}" * 50_000
    return [
        ("190,000 distinct tags (1.9 MB)", distinct_tags.encode(), "tags"),
        ("a multi-picklist of 200,000 values", json.dumps({"name": "MP", "mp": ["a"] * 200_000}).encode(), "mp"),
        ("nesting 100,000 arrays deep as the body", deep_array.encode(), None),
        ("nesting 100,000 arrays deep in a field", ('{"name":' + deep_array + "}").encode(), None),
        ("nesting 50,000 objects deep", deep_object.encode(), None),
        ("a 1.9 MB string", json.dumps({"name": "a" * 1_900_000}).encode(), "name"),
        ("a NUL byte in a value", b'{"name": "a\\u0000b"}', "name"),
        ("a NUL byte in a key", b'{"na\\u0000me": "x", "name": "ok"}', None),
        ("invalid UTF-8", b'{"name": "\xff\xfe\xfd"}', None),
        ("an integer beyond 64 bits", b'{"name": "Big", "big_int": 123456789012345678901234567890}', "big_int"),
        ("a number beyond Decimal (1e400)", b'{"name": "Huge", "big_dec": 1e400}', "big_dec"),
        ("255 a's against a*a*…a*b (12 stars)", json.dumps({"name": "Re", "code": "a" * 255}).encode(), "code"),
        ("100,000 unknown keys", json.dumps({"k%d" % i: 1 for i in range(100_000)}).encode(), None),
        ("duplicate keys", b'{"name": "one", "name": "two", "name": ""}', None),
        ("a body of 3 MiB", json.dumps({"name": "x" * (3 << 20)}).encode(), None),
        ("a JSON array as the body", b'[1, 2, 3]', None),
        ("not JSON at all", b"\x00\x01\x02garbage", None),
    ]


def run(stack):
    stack.start_server(CRM_LOG_LEVEL="warning")
    slug, email, password = stack.new_tenant("hostile")
    token = stack.login(slug, email, password)

    def admin(method, path, body):
        r = stack.request(method, path, tenant=slug, token=token, body=body)
        if r.status >= 300:
            raise RuntimeError("%s %s: %d %s" % (method, path, r.status, r.body[:300]))
        return r

    admin("POST", "/api/v1/admin/objects/customer/fields", {"api_name": "big_int", "label": "Big", "type": "integer"})
    admin("POST", "/api/v1/admin/objects/customer/fields", {"api_name": "big_dec", "label": "Dec", "type": "decimal"})
    admin("POST", "/api/v1/admin/objects/customer/fields",
          {"api_name": "mp", "label": "MP", "type": "multi_picklist", "options": {"values": [{"value": "a"}, {"value": "b"}]}})
    # The pattern of the issue: refused when saved, or cheap when a value is checked.
    pattern = stack.request("POST", "/api/v1/admin/objects/customer/fields", tenant=slug, token=token,
                            body={"api_name": "code", "label": "Code", "type": "text", "options": {"pattern": "a*" * 12 + "b"}})
    if pattern.status >= 300:
        admin("POST", "/api/v1/admin/objects/customer/fields", {"api_name": "code", "label": "Code", "type": "text"})

    results = []
    failures, slowest, slowest_name = [], 0.0, ""
    for name, raw, field in bodies():
        for method, path in (("POST", "/api/v1/records/customer"),):
            try:
                r = stack.request(method, path, tenant=slug, token=token, raw=raw, timeout=10)
            except OSError as e:
                failures.append("%s: no answer within 10 s (%s)" % (name, e.__class__.__name__))
                slowest = max(slowest, 10.0)
                continue
            if r.elapsed > slowest:
                slowest, slowest_name = r.elapsed, name
            problem = r.json() or {}
            fields = [e.get("field") for e in problem.get("errors", [])] if isinstance(problem, dict) else []
            ok = 400 <= r.status < 500 and r.elapsed <= LIMIT and (r.header("Content-Type") or "").startswith("application/problem+json")
            if field is not None and ok and r.status == 400 and field not in fields:
                ok = False
            if not ok:
                failures.append("%s: %d in %s %s" % (name, r.status, ms(r.elapsed), r.body[:120]))
    # Admin bodies get the same treatment.
    deep = ("[" * 100_000 + "]" * 100_000).encode()
    for path in ("/api/v1/admin/roles", "/api/v1/admin/objects/customer/fields", "/api/v1/admin/departments"):
        try:
            r = stack.request("POST", path, tenant=slug, token=token, raw=deep, timeout=10)
        except OSError:
            failures.append("deep body on %s: no answer within 10 s" % path)
            continue
        slowest = max(slowest, r.elapsed)
        if not (400 <= r.status < 500 and r.elapsed <= LIMIT):
            failures.append("deep body on %s: %d in %s" % (path, r.status, ms(r.elapsed)))
    count = stack.request("GET", "/api/v1/records/customer?limit=200", tenant=slug, token=token).json()
    written = len(count.get("data", [])) if isinstance(count, dict) else -1
    if written != 0:
        failures.append("%d records were written" % written)
    # A number far below the column's scale is rounded to it, as PostgreSQL rounds 0.001 in
    # numeric(18,2): stored as zero, quickly, not refused and not an error.
    r = stack.request("POST", "/api/v1/records/customer", tenant=slug, token=token,
                      raw=b'{"name": "Tiny", "big_dec": 1e-400}', timeout=10)
    slowest = max(slowest, r.elapsed)
    stored = (r.json() or {}).get("big_dec") if r.status == 201 else None
    if r.status != 201 or stored is None or float(stored) != 0 or r.elapsed > LIMIT:
        failures.append("a negative exponent (1e-400): %d in %s %s" % (r.status, ms(r.elapsed), r.body[:120]))
    if not stack.server_alive():
        failures.append("the server died")
    n = len(bodies()) + 4
    results.append(Result("hostile bodies", "%d bodies, one at a time" % n,
                          "each a 4xx problem answer naming the field within %.0f s (1e-400 stored as 0); nothing written; server alive" % LIMIT,
                          not failures, "slowest %s (%s)%s" % (ms(slowest), slowest_name, "; " + "; ".join(failures) if failures else "")))
    return results
