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
