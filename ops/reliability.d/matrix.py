"""Cross-tenant matrix: every route of the router (from `crm routes`), called with tenant B's
token against tenant A, with B's token and A's ids inside B, and with no credentials at all.
Answers must be 401, 403 or 404 (or, inside B without A's ids, anything without A's data)."""
import json
import subprocess
import uuid

from harness import Result

PUBLIC = {("GET", "/healthz"), ("GET", "/readyz")}
# Answers this machine without a token (the suite's client is on it), others only with
# CRM_METRICS_TOKEN: checked for A's data, with any token or none, not for a 401.
LOOPBACK = {("GET", "/metrics")}
LOGINS = {("POST", "/api/v1/auth/login"), ("POST", "/ops/v1/auth/login")}


def setup_a(stack):
    """Tenant A with one of everything a route can name, and markers to look for in answers."""
    slug, email, password = stack.new_tenant("mx-a")
    token = stack.login(slug, email, password)
    marker = "SECRET-A-" + uuid.uuid4().hex[:12]
    ids = {}

    def ok(method, path, body=None):
        r = stack.request(method, path, tenant=slug, token=token, body=body)
        if r.status >= 300:
            raise RuntimeError("set-up %s %s: %d %s" % (method, path, r.status, r.body[:300]))
        return r.json()

    for module in ("leads", "activities", "workflow"):
        ok("POST", "/api/v1/admin/modules/%s/enable" % module)
    ids["customer"] = ok("POST", "/api/v1/records/customer", {"name": marker + " customer", "email": "a@%s.example" % slug})["id"]
    ids["contact"] = ok("POST", "/api/v1/records/contact", {"name": marker + " contact", "customer_id": ids["customer"]})["id"]
    ids["lead"] = ok("POST", "/api/v1/records/lead", {"name": marker + " lead", "company": marker + " lead company"})["id"]
    ids["task"] = ok("POST", "/api/v1/records/task", {"subject": marker + " task"})["id"]
    ids["event"] = ok("POST", "/api/v1/records/event", {"title": marker + " event", "starts_at": "2030-01-01T09:00:00Z",
                                                         "ends_at": "2030-01-01T10:00:00Z"})["id"]
    ids["department"] = ok("POST", "/api/v1/admin/departments", {"name": marker + " department"})["id"]
    ids["user"] = ok("POST", "/api/v1/admin/users", {"email": "u@%s.example" % slug, "name": marker + " user",
                                                     "password": "Matrix-" + uuid.uuid4().hex})["id"]
    ids["role"] = ok("POST", "/api/v1/admin/roles", {"name": marker + " role", "permissions": [
        {"object": "customer", "actions": ["read"], "scope": "all"}]})["id"]
    ids["token"] = ok("POST", "/api/v1/me/tokens", {"name": marker + " token"})["id"]
    ids["registration"] = ok("POST", "/api/v1/registrations", {"company": marker + " prospect"})["id"]
    ok("POST", "/api/v1/admin/objects/customer/fields", {"api_name": "secret_a", "label": marker + " field", "type": "text"})
    ids["rule"] = ok("POST", "/api/v1/admin/workflow-rules", {
        "name": marker + " rule", "object": "customer", "trigger": {"type": "manual"},
        "actions": [{"type": "set_field", "values": {"address": marker + " address"}}]})["id"]
    ok("POST", "/api/v1/admin/workflow-rules/%s/publish" % ids["rule"])
    ids["run"] = ok("POST", "/api/v1/records/customer/%s/actions/%s" % (ids["customer"], ids["rule"]))["id"]
    # An approval process on customers and a pending request of the customer (it is locked
    # from here on: set-up writes to it come before).
    ids["process"] = ok("POST", "/api/v1/admin/approval-processes", {
        "name": marker + " process", "object": "customer",
        "steps": [{"approvers": {"type": "users", "user_ids": [ids["user"]]}}]})["id"]
    ok("POST", "/api/v1/admin/approval-processes/%s/publish" % ids["process"])
    ids["approval"] = ok("POST", "/api/v1/approvals", {"object": "customer", "record_id": ids["customer"],
                                                        "comment": marker + " approval"})["id"]
    ok("PUT", "/api/v1/me/delegation", {"delegate_id": ids["user"], "from": "2030-01-01T00:00:00Z", "to": "2030-01-02T00:00:00Z"})
    # An endpoint needs a public https address (no private ones outside tests): ids of nothing stand in,
    # as for inbox items; B's answers for them must still be 4xx and name nothing of A.
    ids["webhook"] = str(uuid.uuid4())
    ids["delivery"] = str(uuid.uuid4())
    ids["inbox"] = str(uuid.uuid4())
    markers = [marker.lower()] + [str(v).lower() for v in ids.values()]
    return slug, token, ids, markers


def fill(path, ids, slug_a):
    """The route's path with A's ids in its parameters."""
    by_prefix = [
        ("/api/v1/admin/departments/", "department"), ("/api/v1/admin/roles/", "role"), ("/api/v1/admin/users/", "user"),
        ("/api/v1/customers/", "customer"), ("/api/v1/events/", "event"), ("/api/v1/leads/", "lead"),
        ("/api/v1/me/tokens/", "token"), ("/api/v1/pool/", "customer"), ("/api/v1/registrations/", "registration"),
        ("/api/v1/records/", "customer"), ("/api/v1/admin/workflow-rules/", "rule"), ("/api/v1/admin/workflow-runs/", "run"),
        ("/api/v1/admin/webhooks/", "webhook"), ("/api/v1/admin/webhook-deliveries/", "delivery"), ("/api/v1/inbox/", "inbox"),
        ("/api/v1/admin/approval-processes/", "process"), ("/api/v1/approvals/", "approval"),
    ]
    out = path.replace("{object}", "customer").replace("{field}", "secret_a").replace("{slug}", slug_a)
    out = out.replace("{rule_id}", ids["rule"])
    # Pipeline keys are names, not tenant data (every sales tenant has `sales`); a made-up one
    # keeps B's pipelines as they are.
    out = out.replace("{key}", "no_such_pipeline")
    if "{id}" in out:
        if out.startswith("/api/v1/admin/modules/"):
            # Module ids are not tenant data; a made-up one keeps B's modules as they are.
            out = out.replace("{id}", "no-such-module")
        else:
            kind = next((k for p, k in by_prefix if out.startswith(p)), "customer")
            out = out.replace("{id}", ids[kind])
    if "{" in out:
        raise RuntimeError("no value for a parameter of " + path)
    return out


def run(stack):
    stack.start_server(CRM_LOG_LEVEL="warning")
    routes = json.loads(subprocess.run([stack.crm, "routes", "--json"], check=True, capture_output=True, text=True).stdout)
    slug_a, token_a, ids, markers = setup_a(stack)
    slug_b, email_b, password_b = stack.new_tenant("mx-b")
    token_b = stack.login(slug_b, email_b, password_b)
    operator = stack.ops_token()
    problems = []
    calls = 0

    def leaks(r):
        text = r.body.decode("utf-8", "replace").lower()
        return [m for m in markers if m in text]

    def check(label, method, path, r, allowed):
        if r.status not in allowed:
            problems.append("%s %s %s: %d %s" % (label, method, path, r.status, r.body[:100]))
        found = leaks(r)
        if found:
            problems.append("%s %s %s: A's data in the answer (%s)" % (label, method, path, found[0]))

    body = {}
    for route in routes:
        method, template = route["method"], route["path"]
        path = fill(template, ids, slug_a)
        key = (method, template)
        if key in PUBLIC:
            continue
        if key in LOOPBACK:
            for label, token in (("B's token in A", token_b), ("no token", None), ("other realm's token", operator)):
                calls += 1
                check(label, method, path, stack.request(method, path, tenant=slug_a, token=token), (200, 403))
            continue
        send = body if method in ("POST", "PATCH", "PUT") else None
        is_ops = template.startswith("/ops/")
        login = key in LOGINS
        # 1. B's token, naming tenant A: the token is not valid there.
        r = stack.request(method, path, tenant=slug_a, token=token_b, body=send)
        calls += 1
        check("B's token in A:", method, path, r, {400, 401} if login else {401})
        # 2. No credentials at all (with A named).
        r = stack.request(method, path, tenant=slug_a, body=send)
        calls += 1
        check("no token:", method, path, r, {400, 401} if login else {401})
        # 3. An operator's token on a tenant route, a tenant token on an ops route.
        r = stack.request(method, path, tenant=slug_a, token=token_a if is_ops else operator, body=send)
        calls += 1
        check("other realm's token:", method, path, r, {400, 401} if login else {401})
        # 4. B's token inside B, with A's ids: nothing of A's, and A's ids are unknown there.
        if is_ops or login or template == "/api/v1/auth/logout":
            continue
        r = stack.request(method, path, tenant=slug_b, token=token_b, body=send)
        calls += 1
        if "{id}" in template or "{field}" in template:
            check("B with A's ids:", method, path, r, {400, 403, 404, 409})
        else:
            check("B's own:", method, path, r, set(range(200, 500)) - {401})
    # A's data is still A's (and A's token still works).
    if stack.request("GET", "/api/v1/records/customer/" + ids["customer"], tenant=slug_a, token=token_a).status != 200:
        problems.append("A lost its customer")
    route_count = len([r for r in routes if (r["method"], r["path"]) not in PUBLIC])
    return [Result("cross-tenant matrix", "%d routes (from crm routes), %d calls" % (route_count, calls),
                   "B's token in A, no token, the other realm's token: 401; B with A's ids: 4xx; no answer holds A's data",
                   not problems, "; ".join(problems[:8]) + (" (+%d more)" % (len(problems) - 8) if len(problems) > 8 else ""))]
