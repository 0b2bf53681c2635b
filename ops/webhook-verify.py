#!/usr/bin/env python3
"""Verifies a CRM webhook signature: the recipe of docs/webhooks.md, standard library only.

    ops/webhook-verify.py SECRET SIGNATURE_HEADER BODY_FILE [--tolerance SECONDS] [--now UNIX_SECONDS]

SECRET is the endpoint's secret as shown (whsec_...), SIGNATURE_HEADER the value of the
CRM-Signature header, BODY_FILE the raw request body exactly as received. Exits 0 and prints
"valid" when one v1 signature matches and the timestamp is within the tolerance (300 s by
default) of now; otherwise exits 1 and prints why.
"""
import argparse
import sys

# --- the recipe (docs/webhooks.md shows this function verbatim) ---
import hashlib
import hmac
import time


def verify_crm_signature(secret, header, body, tolerance=300, now=None):
    """True when `header` (CRM-Signature) signs `body` (the raw bytes) with `secret`."""
    timestamp, signatures = None, []
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        if key == "t":
            timestamp = value
        elif key == "v1":
            signatures.append(value)
    if timestamp is None or not timestamp.isdigit() or not signatures:
        return False
    if abs((time.time() if now is None else now) - int(timestamp)) > tolerance:
        return False  # too old (or from the future): a replay
    signed = timestamp.encode() + b"." + body
    expected = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return any(hmac.compare_digest(expected, s) for s in signatures)
# --- end of the recipe ---


def main():
    parser = argparse.ArgumentParser(description="Verify a CRM webhook signature.")
    parser.add_argument("secret")
    parser.add_argument("header")
    parser.add_argument("body_file")
    parser.add_argument("--tolerance", type=int, default=300)
    parser.add_argument("--now", type=float, default=None)
    args = parser.parse_args()
    with open(args.body_file, "rb") as f:
        body = f.read()
    if verify_crm_signature(args.secret, args.header, body, args.tolerance, args.now):
        print("valid")
        return 0
    print("invalid: no v1 signature matches, or the timestamp is outside the tolerance")
    return 1


if __name__ == "__main__":
    sys.exit(main())
