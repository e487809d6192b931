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


def deliver_signed(client, account, payload: Any):
    """POST `payload` to the account's webhook, authenticated as its platform would do it.

    VK authenticates inside the body, so a VK payload must be a dict: its `secret` and
    `group_id` are set to the account's.
    """
    body, headers = signed(account, payload)
    return post_json(client, account, body, **headers)


def signed(account, payload: Any) -> tuple[bytes, dict[str, str]]:
    """The body and headers `account`'s platform sends `payload` with (see deliver_signed)."""
    credentials = account.credentials
    if account.kind == "vk":
        payload = {**payload, "secret": credentials["secret"], "group_id": credentials["group_id"]}
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    if account.kind == "telegram":
        headers = {"X-Telegram-Bot-Api-Secret-Token": account.webhook_secret}
    elif account.kind in ("messenger", "whatsapp"):
        signature = hmac_hex(credentials["app_secret"], body)
        headers = {"X-Hub-Signature-256": f"sha256={signature}"}
    elif account.kind == "viber":
        headers = {"X-Viber-Content-Signature": hmac_hex(credentials["auth_token"], body)}
    else:
        headers = {}
    return body, headers
