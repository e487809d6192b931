"""Viber REST Bot API: POST /pa/<method> (creators.viber.com/docs/bots-api).

Viber always answers HTTP 200 and reports errors in `status`; codes from the docs' error table.
"""

import itertools
from typing import Any

from channels.fake_platform.base import Answer, Call, IsBlocked, PlatformApi
from channels.fake_platform.protocol import HttpRequest

METHODS = ("send_message", "set_webhook", "get_account_info", "broadcast_message")
EVENT_TYPES = ["delivered", "seen", "failed", "subscribed", "unsubscribed", "conversation_started"]
MAX_TEXT = 7000
MAX_BROADCAST = 300
# send_message docs: requests up to 30 KB (PLATFORMS.md §3.4). Read as 30,000 bytes, the
# stricter reading, so an adapter that passes here passes on Viber.
MAX_REQUEST_BYTES = 30_000
# message_token is an int64 above 2**53: clients that parse it as a float lose digits.
_FIRST_TOKEN = 5_000_000_000_000_000_000


def _status(code: int, message: str, **extra: Any) -> Answer:
    return Answer(200, {"status": code, "status_message": message, **extra})


class ViberApi(PlatformApi):
    name = "viber"
    send_kinds = frozenset({"send_message"})

    def __init__(self) -> None:
        self._tokens = itertools.count(_FIRST_TOKEN)
        self._webhooks: dict[str, dict[str, Any]] = {}

    def clear(self) -> None:
        self._tokens = itertools.count(_FIRST_TOKEN)
        self._webhooks.clear()

    def parse(self, request: HttpRequest) -> Call | None:
        if not request.path.startswith("/pa/"):
            return None
        body = request.json
        params = body if isinstance(body, dict) else {}
        kind = request.path[len("/pa/") :]
        recipient = str(params.get("receiver") or "") if kind == "send_message" else ""
        token = request.headers.get("x-viber-auth-token", "")
        return Call(self.name, kind, token, recipient, params, size=len(request.body))

    def unauthorized(self, call: Call) -> Answer:
        return _status(2, "invalidAuthToken")

    def rate_limited(self, call: Call, retry_after: int) -> Answer:
        # No retry-after on Viber, and HTTP 200: the pipeline still records it as 429.
        return _status(12, "tooManyRequests")

    def blocked(self, call: Call) -> Answer:
        return _status(6, "notSubscribed")

    def validate(self, call: Call) -> Answer | None:
        p = call.params
        if call.kind not in METHODS:
            return Answer(404, {"error": "not found"})
        if call.kind in ("send_message", "broadcast_message"):
            if call.size > MAX_REQUEST_BYTES:
                return _status(3, "badData")
            if call.kind == "send_message" and not call.recipient:
                return _status(4, "missingData")
            sender = p.get("sender")
            # sender.name is required (max 28 chars) on every message.
            if not isinstance(sender, dict) or not 1 <= len(str(sender.get("name", ""))) <= 28:
                return _status(3, "badData")
            if len(str(p.get("text", ""))) > MAX_TEXT:
                return _status(3, "badData")
        if call.kind == "broadcast_message":
            receivers = p.get("broadcast_list")
            if not isinstance(receivers, list) or not receivers:
                return _status(4, "missingData")
            if len(receivers) > MAX_BROADCAST:
                return _status(3, "badData")
        if call.kind == "set_webhook":
            if "url" not in p:
                return _status(4, "missingData")
            if p["url"] and not str(p["url"]).startswith("https://"):
                return _status(1, "invalidUrl")
        return None

    def succeed(self, call: Call, is_blocked: IsBlocked) -> Answer:
        if call.kind == "send_message":
            return _status(0, "ok", message_token=next(self._tokens), chat_hostname="SN-FAKE_")
        if call.kind == "broadcast_message":
            failed = [
                {"receiver": r, "status": 6, "status_message": "notSubscribed"}
                for r in call.params["broadcast_list"]
                if is_blocked(self.name, str(r))
            ]
            return _status(0, "ok", message_token=next(self._tokens), failed_list=failed)
        if call.kind == "set_webhook":
            events = call.params.get("event_types") or EVENT_TYPES
            self._webhooks[call.token] = {"webhook": call.params["url"], "event_types": events}
            return _status(0, "ok", event_types=events)
        webhook = self._webhooks.get(call.token, {"webhook": "", "event_types": []})
        return _status(
            0, "ok", id="pa:fake", name="Fake Bot", uri="fakebot", subscribers_count=0, **webhook
        )
