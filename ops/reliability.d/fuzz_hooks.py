"""Schemathesis hooks of the fuzz scenario (loaded with SCHEMATHESIS_HOOKS=fuzz_hooks).

A document describes the shape of what the server takes, not the data it holds; these hooks
supply, in schema-valid (positive) requests only, the few values that depend on that data, so
that a positive request the server refuses is a real finding:
- references (lookups, user fields, owner_id) name records and users that exist and that the
  caller may reach: the ids are in the file FUZZ_CONTEXT names, per API path;
- an event ends no earlier than it starts (a rule across two fields, and for a change, across the
  stored record), so a change of one of them sends both;
- cursors are opaque: a positive request keeps only a cursor the server gave out;
- a new tenant's admin password is not one of the 10,000 most common (the document says so in
  words; the list is the server's, Sources/CRMCore/Identity/Resources/common-passwords.txt).
A request schemathesis labels positive has its query values checked against their schemas, and
the invalid ones left out (so the request becomes what its label says): schemathesis 4.32's
coverage phase took a value it generated as invalid (201 characters, maxLength 200) for the
template of its "default positive test case" of optional query parameters.
A positive list request keeps at most 50 filters (the list operation's description says so; a
count of query parameters is not something OpenAPI can state in a schema): the coverage phase
sends every optional parameter at once, hundreds of filters, which the server refuses (400
`too_many` on `filter`) as documented.
Negative (schema-violating) requests are left as generated. In every request, the fixtures
(the records references point at) are not changed, deleted or restored: schemathesis reuses
ids it has seen in answers, and a fixture gone would make the next reference to it refused.
"""
import base64
import datetime
import json
import os
import uuid
import zlib

import schemathesis

_CONTEXT = None
_VALIDATORS = {}
_COMMON = None
_FIXTURE_METHODS = ("PATCH", "DELETE", "POST")


def _context():
    global _CONTEXT
    if _CONTEXT is None:
        with open(os.environ["FUZZ_CONTEXT"]) as f:
            _CONTEXT = json.load(f)
    return _CONTEXT


def _positive(case):
    meta = getattr(case, "meta", None)
    if meta is None:
        return True
    return meta.generation.mode.is_positive


def _pick(ids, value):
    """A known id, chosen by the generated value so that runs stay varied and reproducible."""
    return ids[zlib.crc32(str(value).encode()) % len(ids)]


def _instant(text):
    try:
        return datetime.datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00").replace("t", "T"))
    except (ValueError, AttributeError):
        return None


def _is_record_cursor(text):
    try:
        padded = text.replace("-", "+").replace("_", "/")
        padded += "=" * (-len(padded) % 4)
        value = json.loads(base64.b64decode(padded, validate=True))
        return isinstance(value, dict) and {"s", "i"} <= set(value)
    except Exception:  # noqa: BLE001 - anything else is not a cursor of ours
        return False


def _is_tenant_cursor(text):
    try:
        micros, ident = base64.b64decode(text, validate=True).decode().split("|")
        int(micros)
        return len(ident) == 36
    except Exception:  # noqa: BLE001
        return False


def _common():
    global _COMMON
    if _COMMON is None:
        path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "Sources", "CRMCore", "Identity", "Resources",
                            "common-passwords.txt")
        with open(path) as f:
            _COMMON = {line.strip().lower() for line in f if line.strip() and not line.startswith("#")}
    return _COMMON


def _valid(schema, value):
    key = json.dumps(schema, sort_keys=True)
    if key not in _VALIDATORS:
        import jsonschema_rs
        _VALIDATORS[key] = jsonschema_rs.validator_for(schema, validate_formats=True)
    return _VALIDATORS[key].is_valid(value)


def _logical(schema, value):
    """The value a query parameter stands for: its items for a comma-separated array, a number
    for a number written out (plain `str`: jsonschema_rs refuses its subclasses)."""
    if isinstance(value, str):
        value = str(value)
        if schema.get("type") == "array":
            return value.split(",")
        if schema.get("type") == "integer":
            try:
                return int(value)
            except ValueError:
                return value
    return value


_LIST_RESERVED = {"limit", "cursor", "sort", "q"}
_MAX_FILTERS = 50


def _cap_filters(query):
    filters = [k for k in query if k not in _LIST_RESERVED]
    for key in filters[_MAX_FILTERS:]:
        del query[key]


def _drop_invalid_query(case):
    if not isinstance(case.query, dict):
        return
    for param in case.operation.query:
        schema = param.definition.get("schema")
        if param.name in case.query and isinstance(schema, dict) and not _valid(schema, _logical(schema, case.query[param.name])):
            del case.query[param.name]


@schemathesis.hook
def before_call(context, case, kwargs):
    params = case.path_parameters if isinstance(case.path_parameters, dict) else {}
    if case.method.upper() in _FIXTURE_METHODS and params.get("id") in _context().get("fixtures", []):
        params["id"] = str(uuid.uuid4())
    if not _positive(case):
        return
    _drop_invalid_query(case)
    path = case.operation.path
    admin = case.body.get("admin") if isinstance(case.body, dict) and path == "/ops/v1/tenants" else None
    if isinstance(admin, dict) and isinstance(admin.get("password"), str) and admin["password"].lower() in _common():
        admin["password"] = admin["password"] + "-9"
    query = case.query if isinstance(case.query, dict) else None
    if query and case.method.upper() == "GET":
        _cap_filters(query)
    if query and "cursor" in query:
        good = _is_tenant_cursor if path.startswith("/ops/") else _is_record_cursor
        if not isinstance(query["cursor"], str) or not good(query["cursor"]):
            del query["cursor"]
    body = case.body
    if isinstance(body, dict) and (path.startswith("/api/v1/admin/approval-processes") or path.startswith("/api/v1/approvals")
                                   or path == "/api/v1/me/delegation" or path.startswith("/api/v1/admin/workflow-rules/")):
        _approvals(path, body)
        return
    if not isinstance(body, dict) or not path.startswith("/api/v1/records/"):
        return
    obj = path.split("/")[4]
    refs = _context().get("refs", {}).get(obj, {})
    for field, ids in refs.items():
        if field in body and isinstance(body[field], str) and ids:
            body[field] = _pick(ids, body[field])
    if obj == "event":
        starts, ends = body.get("starts_at"), body.get("ends_at")
        if isinstance(starts, str) or isinstance(ends, str):
            if not isinstance(starts, str):
                body["starts_at"] = starts = ends
            if not isinstance(ends, str):
                body["ends_at"] = ends = starts
            a, b = _instant(starts), _instant(ends)
            if a is not None and b is not None and b < a:
                body["starts_at"], body["ends_at"] = ends, starts


_MAX_CONDITION_NODES = 50
_MAX_CONDITION_DEPTH = 6


def _count(condition, depth=0):
    """Parts and depth of a condition, as the server counts them."""
    if not isinstance(condition, dict):
        return 1, depth
    for key in ("all", "any"):
        if isinstance(condition.get(key), list):
            nodes, deepest = 1, depth
            for item in condition[key]:
                n, d = _count(item, depth + 1)
                nodes, deepest = nodes + n, max(deepest, d)
            return nodes, deepest
    if "not" in condition:
        n, d = _count(condition["not"], depth + 1)
        return n + 1, d
    return 1, depth


def _condition(condition, fields):
    """A condition with the shape generated, comparing fields the object has: each comparison
    names a text field of it and takes an operator that needs no value of a given type."""
    if not isinstance(condition, dict):
        return condition
    nodes, depth = _count(condition)
    if nodes > _MAX_CONDITION_NODES or depth >= _MAX_CONDITION_DEPTH:
        condition = {"field": None, "op": "not_empty"}
    for key in ("all", "any"):
        if isinstance(condition.get(key), list):
            return {key: [_condition(c, fields) for c in condition[key]]}
    if "not" in condition:
        return {"not": _condition(condition["not"], fields)}
    op = condition.get("op")
    out = {"field": _pick(fields, condition.get("field")), "op": op if op in ("empty", "not_empty", "eq", "ne") else "not_empty"}
    if out["op"] in ("eq", "ne"):
        out["value"] = None
    return out


def _approvals(path, body):
    """Approval processes name users, roles and fields; submissions, dry runs and delegation
    name records and users: the tenant's, from the context."""
    ctx = _context()
    users, roles = ctx.get("users") or [], ctx.get("roles") or []
    obj = body.get("object") if isinstance(body.get("object"), str) else "customer"
    fields = (ctx.get("text_fields") or {}).get(obj) or ["name"]
    writable = (ctx.get("writable_fields") or {}).get(obj) or ["name"]
    if path.startswith("/api/v1/admin/approval-processes") and not path.endswith("/test"):
        if isinstance(body.get("watched_fields"), list):
            body["watched_fields"] = [_pick(writable, v) for v in body["watched_fields"]]
        if isinstance(body.get("entry_criteria"), dict):
            body["entry_criteria"] = _condition(body["entry_criteria"], fields)
        for step in body.get("steps") or []:
            if not isinstance(step, dict):
                continue
            approvers = step.get("approvers")
            if isinstance(approvers, dict):
                if isinstance(approvers.get("user_ids"), list) and users:
                    approvers["user_ids"] = [_pick(users, v) for v in approvers["user_ids"]]
                if isinstance(approvers.get("role_id"), str) and roles:
                    approvers["role_id"] = _pick(roles, approvers["role_id"])
            if isinstance(step.get("editable_fields"), list):
                step["editable_fields"] = [_pick(writable, v) for v in step["editable_fields"]]
            if isinstance(step.get("criteria"), dict):
                step["criteria"] = _condition(step["criteria"], fields)
        return
    records = (ctx.get("records") or {}).get(obj) or []
    if isinstance(body.get("record_id"), str) and records:
        body["record_id"] = _pick(records, body["record_id"])
    if path == "/api/v1/approvals" and "process_id" in body:
        body["process_id"] = None
    if isinstance(body.get("submitter_id"), str) and users:
        body["submitter_id"] = _pick(users, body["submitter_id"])
    if path == "/api/v1/me/delegation":
        others = [u for u in users if u != ctx.get("self")]
        if isinstance(body.get("delegate_id"), str) and others:
            body["delegate_id"] = _pick(others, body["delegate_id"])
        a, b = _instant(body.get("from")), _instant(body.get("to"))
        if a is not None and b is not None and b <= a:
            body["from"], body["to"] = body["to"], body["from"]
            if a == b:
                body["to"] = (a + datetime.timedelta(days=1)).isoformat()
