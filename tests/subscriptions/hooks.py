"""Each platform's real webhook, signed its own way, as it reaches /hooks/<account>/.

Bodies start from the captured fixtures under channels/providers/<platform>/fixtures/; `signed`
adds what the platform adds to prove it is the sender (PLATFORMS.md, "Webhook auth").
"""

import copy
import json
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

from channels.models import ChannelAccount
from channels.providers.sandbox.provider import SIGNATURE_HEADER as SANDBOX_HEADER
from channels.providers.sandbox.provider import sign as sandbox_sign
from tests.channels.webhooks import fixture
from tests.channels.webhooks import signed as platform_signed


def signed(account: ChannelAccount, payload: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
    """The body and the headers `account`'s platform would send `payload` with."""
    if account.kind == "sandbox":  # our own chat page signs like a platform would
        body = json.dumps(payload).encode()
        return body, {SANDBOX_HEADER: sandbox_sign(account.webhook_secret, body)}
    return platform_signed(account, payload)


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


# --- the start webhook of a customer who opened a subscribe link, as each platform sends it -------
def query(link: str, name: str) -> str:
    """One query parameter of a deep link, decoded the way the platform's client decodes it."""
    return parse_qs(urlsplit(link).query)[name][0]


def _telegram_start(link: str) -> dict[str, Any]:
    # t.me/<bot>?start=<token> -> "/start <token>" (core.telegram.org/bots/features#deep-linking)
    body = payload("telegram", "message_start_token")
    body["message"]["text"] = f"/start {query(link, 'start')}"
    return body


def _messenger_start(link: str) -> dict[str, Any]:
    # m.me/<page>?ref=<token> -> Get Started postback with referral.ref in a new thread
    body = payload("messenger", "start_via_postback")
    body["entry"][0]["messaging"][0]["postback"]["referral"]["ref"] = query(link, "ref")
    return body


def _viber_start(link: str) -> dict[str, Any]:
    # viber://pa?chatURI=<uri>&context=<token> -> conversation_started.context
    body = payload("viber", "conversation_started_token")
    body["context"] = query(link, "context")
    return body


def _vk_start(link: str) -> dict[str, Any]:
    # vk.me/<group>?ref=<token>&ref_source=... -> message_new.object.message.ref / ref_source
    body = payload("vk", "message_new_ref")
    body["object"]["message"]["ref"] = query(link, "ref")
    body["object"]["message"]["ref_source"] = query(link, "ref_source")
    return body


def _whatsapp_start(link: str) -> dict[str, Any]:
    # wa.me/<number>?text=<prefill>: the customer sends the prefilled text, code and all
    body = payload("whatsapp", "text_subscribe_code")
    body["entry"][0]["changes"][0]["value"]["messages"][0]["text"]["body"] = query(link, "text")
    return body


def _sandbox_start(link: str) -> dict[str, Any]:
    # /sandbox/?start=<token>: the chat page posts its start event with the token
    return {"type": "start", "conversation": "conversation-0001", "id": "start",
            "token": query(link, "start")}  # fmt: skip


STARTS: dict[str, Callable[[str], dict[str, Any]]] = {
    "telegram": _telegram_start,
    "messenger": _messenger_start,
    "viber": _viber_start,
    "vk": _vk_start,
    "whatsapp": _whatsapp_start,
    "sandbox": _sandbox_start,
}


def start_webhook(kind: str, link: str) -> dict[str, Any]:
    """The body `kind`'s platform posts when a customer opens `link` and starts the chat."""
    return STARTS[kind](link)
