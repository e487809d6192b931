"""Each platform's real webhook, signed its own way, as it reaches /hooks/<account>/.

Bodies start from the captured fixtures under tests/fixtures/<platform>/; `signed` adds what
the platform adds to prove it is the sender (PLATFORMS.md, "Webhook auth").
"""

import copy
import json
from typing import Any

from channels.models import ChannelAccount
from channels.providers.sandbox import SIGNATURE_HEADER as SANDBOX_HEADER
from channels.providers.sandbox import sign as sandbox_sign
from tests.channels.webhooks import fixture, hmac_hex


def signed(account: ChannelAccount, payload: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
    """The body and the headers `account`'s platform would send `payload` with."""
    credentials = account.credentials
    if account.kind == "vk":  # VK authenticates inside the body
        payload = {**payload, "secret": credentials["secret"], "group_id": credentials["group_id"]}
    body = json.dumps(payload).encode()
    if account.kind == "telegram":
        return body, {"X-Telegram-Bot-Api-Secret-Token": account.webhook_secret}
    if account.kind in ("messenger", "whatsapp"):
        return body, {"X-Hub-Signature-256": f"sha256={hmac_hex(credentials['app_secret'], body)}"}
    if account.kind == "viber":
        return body, {"X-Viber-Content-Signature": hmac_hex(credentials["auth_token"], body)}
    if account.kind == "sandbox":
        return body, {SANDBOX_HEADER: sandbox_sign(account.webhook_secret, body)}
    return body, {}


def post_hook(client, account: ChannelAccount, payload: dict[str, Any]):
    """POST `payload` signed to the account's webhook with a Django test client."""
    body, headers = signed(account, payload)
    return client.generic(
        "POST", f"/hooks/{account.name}/", body, content_type="application/json", headers=headers
    )


def payload(platform: str, name: str) -> dict[str, Any]:
    """A fresh, editable copy of a captured fixture."""
    return copy.deepcopy(fixture(platform, name))


def sender(platform: str, body: dict[str, Any]) -> str:
    """The platform user id a fixture body comes from."""
    if platform == "telegram":
        update = body.get("message") or body.get("my_chat_member") or body["callback_query"]
        return str(update["from"]["id"])
    if platform == "messenger":
        return body["entry"][0]["messaging"][0]["sender"]["id"]
    if platform == "whatsapp":
        return body["entry"][0]["changes"][0]["value"]["contacts"][0]["wa_id"]
    if platform == "viber":
        return body.get("user_id") or body["user"]["id"]
    if platform == "vk":
        obj = body["object"]
        return str(obj["user_id"] if "user_id" in obj else obj["message"]["from_id"])
    return body["conversation"]
