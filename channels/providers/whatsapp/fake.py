"""WhatsApp Cloud API messages.

Reference: developers.facebook.com/docs/whatsapp/cloud-api/reference/messages
"""

from typing import Any

from channels.fake_platform import graph
from channels.fake_platform.base import Answer, Call, IsBlocked, PlatformApi, random_id
from channels.fake_platform.protocol import HttpRequest

MAX_TEXT = 4096
MAX_BUTTONS = 3
MAX_BUTTON_TITLE = 20
MAX_BUTTON_ID = 256


def _invalid(message: str, details: str | None = None) -> Answer:
    return graph.error(400, 100, f"(#100) {message}", details=details)


def _not_valid(details: str) -> Answer:
    # 131009 "Parameter value is not valid"; error_data.details names the culprit.
    return graph.error(400, 131009, "(#131009) Parameter value is not valid", details=details)


class WhatsAppApi(PlatformApi):
    name = "whatsapp"
    send_kinds = frozenset({"messages"})

    def __init__(self) -> None:
        # Ids that have sent messages are phone numbers: Meta subscribes apps on the WhatsApp
        # Business Account (POST /<WABA_ID>/subscribed_apps), and a phone number has no such edge.
        self._phone_numbers: set[str] = set()

    def clear(self) -> None:
        self._phone_numbers.clear()

    def parse(self, request: HttpRequest) -> Call | None:
        return graph.parse(request)

    def unauthorized(self, call: Call) -> Answer:
        return graph.unauthorized(call)

    def rate_limited(self, call: Call, retry_after: int) -> Answer:
        return graph.error(400, 130429, "Rate limit hit")

    def blocked(self, call: Call) -> Answer:
        # WhatsApp never says "blocked"; 131026 covers blocks, non-users and outdated apps.
        return graph.error(400, 131026, "Message undeliverable")

    def validate(self, call: Call) -> Answer | None:
        p = call.params
        if call.kind == "subscribed_apps" and call.node in self._phone_numbers:
            return _invalid(
                "Tried accessing nonexisting field (subscribed_apps) on node type "
                "(WhatsAppBusinessPhoneNumber)"
            )
        if call.kind != "messages" or p.get("status") == "read":
            return None
        if not call.recipient:
            return _invalid("The parameter to is required.")
        kind = p.get("type", "text")
        content = p.get(kind)
        if not isinstance(content, dict):
            return _invalid(f"The parameter {kind} is required.")
        if kind == "text":
            body = content.get("body")
            if not isinstance(body, str) or not body:
                return _invalid("The parameter text['body'] is required.")
            if len(body) > MAX_TEXT:
                return _invalid(f"Param text['body'] must be at most {MAX_TEXT} characters long.")
        if kind == "template" and not content.get("name"):
            return _invalid("The parameter template['name'] is required.")
        if kind == "interactive":
            return _check_interactive(content)
        return None

    def succeed(self, call: Call, is_blocked: IsBlocked) -> Answer:
        if call.kind == "subscribed_apps":
            return Answer(200, {"success": True})
        self._phone_numbers.add(call.node)
        if call.params.get("status") == "read":
            return Answer(200, {"success": True})
        to = call.recipient
        return Answer(
            200,
            {
                "messaging_product": "whatsapp",
                "contacts": [{"input": to, "wa_id": to}],
                "messages": [{"id": random_id("wamid.", 30)}],
            },
        )


def _check_interactive(interactive: dict[str, Any]) -> Answer | None:
    if interactive.get("type") != "button":
        return None
    action = interactive.get("action")
    buttons = action.get("buttons") if isinstance(action, dict) else None
    if not isinstance(buttons, list) or not 1 <= len(buttons) <= MAX_BUTTONS:
        return _not_valid(f"Invalid buttons count. Min allowed buttons: 1, Max: {MAX_BUTTONS}")
    replies = [b.get("reply") if isinstance(b, dict) else None for b in buttons]
    for reply in replies:
        title = reply.get("title") if isinstance(reply, dict) else None
        if not isinstance(title, str) or not 1 <= len(title) <= MAX_BUTTON_TITLE:
            return _not_valid(
                f"Button title length invalid. Min length: 1, Max length: {MAX_BUTTON_TITLE}"
            )
        reply_id = reply.get("id") if isinstance(reply, dict) else None
        if not isinstance(reply_id, str) or not 1 <= len(reply_id) <= MAX_BUTTON_ID:
            return _not_valid(f"Button id length invalid. Min length: 1, Max: {MAX_BUTTON_ID}")
    # The reference: titles and ids "must be unique within the message".
    for key in ("title", "id"):
        values = [reply[key] for reply in replies if isinstance(reply, dict)]
        if len(set(values)) != len(values):
            return _not_valid(f"Button {key} is not unique")
    return None
