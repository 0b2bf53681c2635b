"""Schemathesis hooks of the fuzz scenario (loaded with SCHEMATHESIS_HOOKS=fuzz_hooks).

A document describes the shape of what the server takes, not the data it holds; these hooks
supply, in schema-valid (positive) requests only, the few values that depend on that data, so
that a positive request the server refuses is a real finding:
- references (lookups, user fields, owner_id) name records and users that exist and that the
  caller may reach: the ids are in the file FUZZ_CONTEXT names, per API path;
- an event ends no earlier than it starts (a rule across two fields, and for a change, across the
  stored record), so a change of one of them sends both;
- cursors are opaque: a positive request keeps only a cursor the server gave out.
Negative (schema-violating) requests are left as generated.
"""
import base64
import datetime
import json
import os
import zlib

import schemathesis

_CONTEXT = None


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


@schemathesis.hook
def before_call(context, case, kwargs):
    if not _positive(case):
        return
    path = case.operation.path
    query = case.query if isinstance(case.query, dict) else None
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
