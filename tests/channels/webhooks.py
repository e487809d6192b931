"""Helpers to deliver webhooks to our endpoint the way each platform would, and to check
what they stored."""

import hashlib
import hmac
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.http import HttpResponse

from channels.models import ChannelAccount, InboundEvent

# Each channel's captured webhook bodies live in its package: channels/providers/<kind>/fixtures/.
PROVIDERS_DIR = Path(__file__).resolve().parent.parent.parent / "channels" / "providers"


# The text fields of a stored event: each is empty unless a test expects a value in it.
STRING_FIELDS = ("text", "token", "payload", "reason", "user_name", "locale")


def fixture(platform: str, name: str) -> dict[str, Any]:
    return json.loads((PROVIDERS_DIR / platform / "fixtures" / f"{name}.json").read_text())


def fixture_names(platform: str) -> list[str]:
    """The names of `platform`'s captured webhook bodies in its package, sorted."""
    return sorted(path.stem for path in (PROVIDERS_DIR / platform / "fixtures").glob("*.json"))


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


def assert_stored_nothing(response: HttpResponse, status: int) -> None:
    """The webhook answered `status` and stored no event at all."""
    assert response.status_code == status
    assert InboundEvent.objects.count() == 0


def stored_event(response: HttpResponse, account: ChannelAccount) -> InboundEvent:
    """The webhook answered 200 and stored exactly one event for `account`: that event."""
    assert response.status_code == 200
    [row] = InboundEvent.objects.filter(account=account)
    return row


def assert_stored_once(deliver: Callable[[], HttpResponse], account: ChannelAccount) -> None:
    """`deliver` twice (a platform's redelivery): both answered 200, one event stored."""
    first, second = deliver(), deliver()
    assert (first.status_code, second.status_code) == (200, 200)
    assert InboundEvent.objects.filter(account=account).count() == 1


def assert_string_fields(row: InboundEvent, expected: dict[str, Any]) -> None:
    """Each STRING_FIELDS of the stored `row` is as `expected`, empty where it names none."""
    for field in STRING_FIELDS:
        assert getattr(row, field) == expected.get(field, ""), field
