"""Helpers to deliver webhooks to our endpoint the way each platform would."""

import hashlib
import hmac
import json
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def fixture(platform: str, name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / platform / f"{name}.json").read_text())


def hmac_hex(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def post_json(client, account, payload: Any, **headers: str):
    """POST `payload` as raw JSON bytes to the account's webhook with extra HTTP headers."""
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return client.generic(
        "POST",
        f"/hooks/{account.name}/",
        body,
        content_type="application/json",
        headers=headers,
    )
