"""Messenger Platform Send API.

Reference: developers.facebook.com/docs/messenger-platform/reference/send-api
"""

from typing import Any

from channels.fake_platform import graph
from channels.fake_platform.base import Answer, Call, IsBlocked, PlatformApi, random_id
from channels.fake_platform.protocol import HttpRequest

# Limits from the Send API, quick replies and template reference pages.
MAX_TEXT = 2000
MAX_QUICK_REPLIES = 13
MAX_ELEMENTS = 10
MAX_BUTTONS = 3


def _invalid(message: str) -> Answer:
    return graph.error(400, 100, f"(#100) {message}")


class MessengerApi(PlatformApi):
    name = "messenger"
    send_kinds = frozenset({"messages"})

    def parse(self, request: HttpRequest) -> Call | None:
        return graph.parse(request)

    def unauthorized(self, call: Call) -> Answer:
        return graph.unauthorized(call)

    def rate_limited(self, call: Call, retry_after: int) -> Answer:
        # Graph answers floods with HTTP 400 and no retry-after; clients back off themselves.
        return graph.error(400, 613, "Calls to this API have exceeded the rate limit.")

    def blocked(self, call: Call) -> Answer:
        return graph.error(400, 551, "(#551) This person isn't available right now.", 1545041)

    def validate(self, call: Call) -> Answer | None:
        if call.kind != "messages":
            return None
        if not call.recipient:
            return _invalid("The parameter recipient is required")
        message = call.params.get("message")
        if not isinstance(message, dict):
            if call.params.get("sender_action"):
                return None
            return _invalid("Must send either message or sender_action")
        if not (message.get("text") or message.get("attachment")):
            return _invalid("Must send either text or attachment")
        if len(str(message.get("text", ""))) > MAX_TEXT:
            return _invalid(f"Length of param message[text] must be <= {MAX_TEXT}")
        if graph.count(message.get("quick_replies")) > MAX_QUICK_REPLIES:
            return _invalid(f"param message[quick_replies] must have at most {MAX_QUICK_REPLIES}")
        return _check_template(message.get("attachment"))

    def succeed(self, call: Call, is_blocked: IsBlocked) -> Answer:
        if call.kind == "subscribed_apps":
            return Answer(200, {"success": True})
        body: dict[str, Any] = {}
        recipient = call.params.get("recipient")
        # No recipient_id when the person was addressed by user_ref or a marketing token.
        if isinstance(recipient, dict) and recipient.get("id"):
            body["recipient_id"] = str(recipient["id"])
        if isinstance(call.params.get("message"), dict):
            body["message_id"] = random_id("m_", 24)
        return Answer(200, body)


def _check_template(attachment: Any) -> Answer | None:
    payload = attachment.get("payload") if isinstance(attachment, dict) else None
    if not isinstance(payload, dict):
        return None
    where = "message[attachment][payload]"
    if graph.count(payload.get("elements")) > MAX_ELEMENTS:
        return _invalid(f"param {where}[elements] must have at most {MAX_ELEMENTS} elements")
    if graph.count(payload.get("buttons")) > MAX_BUTTONS:
        return _invalid(f"param {where}[buttons] must have at most {MAX_BUTTONS} buttons")
    elements = [e for e in payload.get("elements") or [] if isinstance(e, dict)]
    for element in elements:
        if graph.count(element.get("buttons")) > MAX_BUTTONS:
            return _invalid(f"param {where}[elements][buttons] must have at most {MAX_BUTTONS}")
        if not str(element.get("title") or "").strip():
            return _invalid(f"param {where}[elements][title] must be a non-empty string")
    buttons = [
        *(payload.get("buttons") or []),
        *(b for e in elements for b in e.get("buttons") or []),
    ]
    for button in (b for b in buttons if isinstance(b, dict) and b.get("type") == "postback"):
        if not button.get("payload"):
            return _invalid(f"param {where}[buttons][payload] must be a non-empty string")
    return None
