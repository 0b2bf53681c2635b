"""Fuzzing: schemathesis (4.x) over the OpenAPI documents as their callers get them: a tenant
admin's, a restricted user's (hidden and read-only fields, own records only) and the operators'.
Every check (`--checks all`), with the coverage phase (boundary and schema-violating values,
undeclared methods, wrong content types), the fuzzing phase and the stateful phase (creates
linked to reading, changing, deleting, restoring the record). The row fails on any finding:
a 5xx, an answer outside the documented statuses, headers or schemas, a schema-valid request
refused, a schema-violating one accepted, a method not answered 405 with Allow.

Two statuses are accepted for schema-valid requests besides schemathesis's own list, because
they answer the state a request meets, not its shape: 412 (an If-Match naming another version)
and 422 (an Idempotency-Key already used with another request). Values that depend on the data
(references, an event's end after its start, cursors) come from fuzz_hooks.py.
Logs of each run: .build/fuzz-<document>.log, the document beside it (.openapi.json).
For debugging, FUZZ_ONLY=admin,ops runs some documents only, and FUZZ_ST_ARGS adds schemathesis
arguments (e.g. "--include-path-regex records/lead --phases coverage")."""
import json
import os
import re
import subprocess
import time
import uuid

from harness import Result

HERE = os.path.dirname(os.path.abspath(__file__))
TIMEOUT = 900  # seconds one document may take before its run is stopped (and fails)

CONFIG = """
[checks.positive_data_acceptance]
expected-statuses = ["2xx", "401", "403", "404", "409", "412", "422", "429"]

# A schema-violating request refused for its state first (a stale If-Match, a body over the size
# limit, a suspended tenant) is refused all the same.
[checks.negative_data_rejection]
expected-statuses = ["400", "401", "403", "404", "405", "406", "409", "412", "413", "415", "422", "423", "428", "429"]
"""

# Every type; the filterable ones add filters to the lists (each a query parameter to fuzz).
CUSTOM_FIELDS = [
    {"api_name": "fz_code", "label": "Code", "type": "text", "options": {"max_length": 40}},
    {"api_name": "fz_notes", "label": "Notes", "type": "long_text", "filterable": False, "options": {"max_length": 2000}},
    {"api_name": "fz_staff", "label": "Staff", "type": "integer", "options": {"min": 0, "max": 100000}},
    {"api_name": "fz_revenue", "label": "Revenue", "type": "currency"},
    {"api_name": "fz_share", "label": "Share", "type": "percent", "filterable": False, "options": {"min": 0, "max": 100}},
    {"api_name": "fz_score", "label": "Score", "type": "decimal", "filterable": False, "options": {"precision": 6, "scale": 2}},
    {"api_name": "fz_listed", "label": "Listed", "type": "boolean"},
    {"api_name": "fz_founded", "label": "Founded", "type": "date"},
    {"api_name": "fz_next_call", "label": "Next call", "type": "datetime"},
    {"api_name": "fz_billing", "label": "Billing email", "type": "email"},
    {"api_name": "fz_fax", "label": "Fax", "type": "phone", "filterable": False},
    {"api_name": "fz_home", "label": "Homepage", "type": "url", "filterable": False},
    {"api_name": "fz_tier", "label": "Tier", "type": "picklist", "required": True, "default": "silver",
     "options": {"values": [{"value": "gold", "label": "Gold"}, {"value": "silver", "label": "Silver"},
                            {"value": "tin", "label": "Tin", "active": False}]}},
    {"api_name": "fz_channels", "label": "Channels", "type": "multi_picklist", "filterable": False,
     "options": {"values": [{"value": "wechat", "label": "WeChat"}, {"value": "email", "label": "Email"}]}},
    {"api_name": "fz_labels", "label": "Labels", "type": "tags", "options": {"max_length": 20}},
    {"api_name": "fz_parent", "label": "Parent", "type": "lookup", "options": {"target": "customer"}},
    {"api_name": "fz_manager", "label": "Account manager", "type": "user"},
    {"api_name": "fz_secret", "label": "Secret note", "type": "text", "filterable": False},
    {"api_name": "fz_rating", "label": "Rating", "type": "integer", "filterable": False},
]
OTHER_FIELDS = [
    ("lead", {"api_name": "fz_budget", "label": "Budget", "type": "currency"}),
    ("lead", {"api_name": "fz_region", "label": "Region", "type": "picklist",
              "options": {"values": [{"value": "north", "label": "North"}, {"value": "south", "label": "South"}]}}),
    ("task", {"api_name": "fz_effort", "label": "Effort", "type": "decimal", "options": {"precision": 5, "scale": 1, "min": 0}}),
]
SYSTEM_FIELDS = {"id", "version", "owner_id", "created_at", "updated_at"}
# The restricted user: their own records of four objects, some customer fields hidden or read-only.
RESTRICTED_ROLE = {
    "name": "Fuzz restricted",
    "permissions": [{"object": o, "actions": ["read", "create", "update", "delete"], "scope": "own"}
                    for o in ("customer", "contact", "lead", "task")],
    "fields": [{"object": "customer", "field": "fz_secret", "access": "hidden"},
               {"object": "customer", "field": "industry", "access": "hidden"},
               {"object": "customer", "field": "fz_rating", "access": "read_only"},
               {"object": "customer", "field": "fz_revenue", "access": "read_only"}],
}


def budget(stack):
    """Examples per operation: fewer on the debug build, which answers several times slower."""
    return 8 if "/debug/" in stack.crm else 20


def run(stack):
    stack.start_server(CRM_LOG_LEVEL="warning")
    env = tenant_setup(stack)
    results = []
    only = [x for x in os.environ.get("FUZZ_ONLY", "").split(",") if x]
    for label, doc, token, context, extra in env["runs"]:
        if not only or label in only:
            results.append(fuzz(stack, label, doc, token, env["slug"], context, extra))
    if only and "ops" not in only:
        return results
    operator = stack.ops_token()
    ops_doc = stack.request("GET", "/ops/v1/openapi.json", token=operator)
    if ops_doc.status != 200:
        raise RuntimeError("ops document: %d %s" % (ops_doc.status, ops_doc.body[:300]))
    # Logging out would end the session the run uses; the tests cover it.
    # One worker: two threads building hypothesis strategies at once tripped a hypothesis bug
    # ("AST constructor recursion depth mismatch") on this document's nested schemas.
    results.append(fuzz(stack, "ops", ops_doc.json(), operator, None, {}, ["--exclude-operation-id", "logout"], workers=1))
    return results


def tenant_setup(stack):
    slug, email, password = stack.new_tenant("fz")
    admin = stack.login(slug, email, password)

    def call(method, path, body=None, token=admin, want=None):
        r = stack.request(method, path, tenant=slug, token=token, body=body)
        if r.status >= 300 or (want and r.status != want):
            raise RuntimeError("set-up %s %s: %d %s" % (method, path, r.status, r.body[:300]))
        return r.json()

    for module in ("leads", "activities", "workflow"):
        call("POST", "/api/v1/admin/modules/%s/enable" % module)
    for field in CUSTOM_FIELDS:
        call("POST", "/api/v1/admin/objects/customer/fields", field)
    for obj, field in OTHER_FIELDS:
        call("POST", "/api/v1/admin/objects/%s/fields" % obj, field)
    role = call("POST", "/api/v1/admin/roles", RESTRICTED_ROLE)["id"]
    user_email, user_password = "restricted@%s.example" % slug, "Fuzz-" + uuid.uuid4().hex
    user = call("POST", "/api/v1/admin/users", {"email": user_email, "name": "Restricted", "password": user_password,
                                                "role_ids": [role]})["id"]
    restricted = stack.login(slug, user_email, user_password)
    admin_id = call("GET", "/api/v1/me")["user"]["id"]

    runs, fixtures = [], []
    for label, token, own_id, assignable in (("admin", admin, admin_id, [admin_id, user]),
                                              ("restricted", restricted, user, [user])):
        # Records each caller may point lookups at: their own.
        customer = call("POST", "/api/v1/records/customer", {"name": "Fixture of " + label}, token=token)["id"]
        contact = call("POST", "/api/v1/records/contact", {"name": "Contact of " + label, "customer_id": customer}, token=token)["id"]
        targets = {"customer": [customer], "contact": [contact]}
        refs, text_fields, writable_fields = {}, {}, {}
        for obj in call("GET", "/api/v1/objects", token=token)["data"]:
            path_refs = {"owner_id": assignable}
            # What approval processes may name: conditions compare text fields, watched and
            # editable fields are not the system's (owner_id aside).
            text_fields[obj["api_name"]] = [f["api_name"] for f in obj["fields"] if f["type"] == "text"]
            writable_fields[obj["api_name"]] = [f["api_name"] for f in obj["fields"]
                                                if f["api_name"] == "owner_id" or not (f.get("is_system") or f.get("system")
                                                                                       or f["api_name"] in SYSTEM_FIELDS)]
            for f in obj["fields"]:
                if f["type"] == "lookup" and (f.get("options") or {}).get("target") in targets:
                    path_refs[f["api_name"]] = targets[f["options"]["target"]]
                elif f["type"] == "user" and f["api_name"] != "owner_id":
                    path_refs[f["api_name"]] = [admin_id, user]
            refs[obj["api_name"]] = path_refs
        doc = call("GET", "/api/v1/openapi.json", token=token)
        context = {"refs": refs, "text_fields": text_fields, "writable_fields": writable_fields, "self": own_id,
                   "users": [admin_id, user], "roles": [role], "records": targets}
        runs.append((label, doc, token, context, []))
        fixtures += [customer, contact]
    for _, _, _, context, _ in runs:
        context["fixtures"] = fixtures
    return {"slug": slug, "runs": runs}


def fuzz(stack, label, doc, token, slug, context, extra, workers=2):
    tmp = os.path.join(stack.tmp, "fuzz-" + label)
    os.makedirs(tmp, exist_ok=True)
    build = os.path.join(stack.root, ".build")
    os.makedirs(build, exist_ok=True)
    doc_path, context_path, config_path = (os.path.join(tmp, n) for n in ("openapi.json", "context.json", "schemathesis.toml"))
    # Credentials reach schemathesis through its environment, never its command line or the logs.
    headers = 'headers = { Authorization = "Bearer ${FUZZ_AUTH}"%s }\n' % (', "X-Tenant" = "%s"' % slug if slug else "")
    for path, text in ((doc_path, json.dumps(doc)), (context_path, json.dumps(context)), (config_path, headers + CONFIG),
                       (os.path.join(build, "fuzz-%s.openapi.json" % label), json.dumps(doc, indent=1))):
        with open(path, "w") as f:
            f.write(text)
    operations = sum(1 for item in doc["paths"].values() for m in item if m in ("get", "post", "patch", "delete", "put"))
    examples = budget(stack)
    cmd = ["st", "--config-file", config_path, "--no-color", "run", doc_path, "--url", "http://127.0.0.1:%d" % stack.port,
           "--checks", "all", "--phases", "examples,coverage,fuzzing,stateful",
           "--max-examples", str(examples), "--workers", str(workers), "--request-timeout", "30", "--generation-database", "none",
           "--suppress-health-check", "too_slow", "--seed", str(int(time.time()))] + extra + os.environ.get("FUZZ_ST_ARGS", "").split()
    env = dict(os.environ, SCHEMATHESIS_HOOKS="fuzz_hooks", FUZZ_CONTEXT=context_path, FUZZ_AUTH=token,
               PYTHONPATH=HERE + os.pathsep + os.environ.get("PYTHONPATH", ""))
    log = os.path.join(build, "fuzz-%s.log" % label)
    started = time.monotonic()
    with open(log, "w") as out:
        out.write(" ".join(cmd) + "\n\n")
        out.flush()
        process = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT)
        try:
            code = process.wait(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            code = -1
            out.write("\n(stopped after %d s)\n" % TIMEOUT)
    elapsed = time.monotonic() - started
    with open(log) as f:
        text = f.read()
    generated = re.search(r"(\d+) generated", text)
    found = re.findall(r"(?m)^\s*❌ (ST\d+ [^:]+): (\d+)", text)
    errors = re.search(r"(\d+) errors?\b", text.split("SUMMARY")[-1]) if "SUMMARY" in text else None
    tested = re.search(r"Tested: (\d+)", text)
    failures = sum(int(n) for _, n in found)
    figures = "%s of %d operations tested, %s test cases, %d failures%s, %.0f s; log .build/fuzz-%s.log" % (
        tested.group(1) if tested else "?", operations, generated.group(1) if generated else "?", failures,
        (" (" + "; ".join("%s: %s" % (k, n) for k, n in found) + ")") if found else "", elapsed, label)
    if errors:
        figures += "; " + errors.group(0)
    ok = code == 0 and failures == 0
    who = {"admin": "a tenant admin's document", "restricted": "a restricted user's document (hidden and read-only fields, own records)",
           "ops": "the operators' document"}[label]
    return Result("fuzz: " + label, "schemathesis %s, %d examples an operation, %d worker%s" % (
                      st_version(), examples, workers, "s" if workers > 1 else ""),
                  "%s, --checks all, phases examples, coverage (negative data, undeclared methods), fuzzing, stateful: nothing found" % who,
                  ok, figures)


def st_version():
    try:
        import schemathesis
        return schemathesis.__version__
    except Exception:  # noqa: BLE001
        return "?"
