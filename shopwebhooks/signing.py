"""HMAC-SHA256 signatures of outgoing webhooks, over "<timestamp>.<body>".

Header sent with each request (several `v1=` values while a secret is being rotated):

    Comeback-Signature: t=1733400000,v1=<hex hmac of the newest secret>,v1=<hex of the older one>

A shop verifies by recomputing HMAC-SHA256(secret, f"{t}.".encode() + body) and comparing it in
constant time to any `v1` value, and by refusing a timestamp older than its tolerance (replays).
"""

import hashlib
import hmac

HEADER = "Comeback-Signature"
DEFAULT_TOLERANCE_SECONDS = 300


def signature(*, secret: str, timestamp: int, body: bytes) -> str:
    """Hex HMAC-SHA256 of `<timestamp>.<body>` under one secret."""
    message = f"{timestamp}.".encode() + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signature_header(*, secrets: list[str], timestamp: int, body: bytes) -> str:
    """The header value: one `v1` per valid secret, newest first (rotation)."""
    parts = [f"t={timestamp}"]
    parts += [f"v1={signature(secret=s, timestamp=timestamp, body=body)}" for s in secrets if s]
    return ",".join(parts)


def verify(
    *, header: str, body: bytes, secret: str, now: int, tolerance: int = DEFAULT_TOLERANCE_SECONDS
) -> bool:
    """True when a `v1` matches under `secret` and `t` is within `tolerance` of `now`."""
    timestamp, candidates = None, []
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        if key == "t" and value.isdigit():
            timestamp = int(value)
        elif key == "v1":
            candidates.append(value)
    if timestamp is None or abs(now - timestamp) > tolerance:
        return False
    expected = signature(secret=secret, timestamp=timestamp, body=body)
    return any(hmac.compare_digest(expected, c) for c in candidates)
