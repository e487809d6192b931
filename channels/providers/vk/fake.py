"""VK API: POST /method/<name>, form-encoded (dev.vk.com/ru/method/messages.send).

VK answers HTTP 200 for everything; errors are {"error": {error_code, error_msg, request_params}}.
"""

import json
from typing import Any

from channels.fake_platform.base import Answer, Call, IsBlocked, PlatformApi
from channels.fake_platform.protocol import HttpRequest

SEND = "messages.send"
METHODS = (
    SEND,
    "groups.addCallbackServer",
    "groups.setCallbackSettings",
    "groups.getCallbackConfirmationCode",
    "groups.getCallbackServers",
)
MAX_TEXT = 9000
_PEER_KEYS = ("peer_id", "user_id", "chat_id", "domain")


def vk_error(call: Call, code: int, message: str) -> Answer:
    # VK echoes the request parameters, never the token.
    echo = [{"key": "method", "value": call.kind}, {"key": "oauth", "value": "1"}]
    echo += [{"key": k, "value": str(v)} for k, v in call.params.items() if k != "access_token"]
    body = {"error": {"error_code": code, "error_msg": message, "request_params": echo}}
    return Answer(200, body)


def _missing(call: Call, what: str) -> Answer:
    return vk_error(call, 100, f"One of the parameters specified was missing or invalid: {what}")


class VkApi(PlatformApi):
    name = "vk"
    send_kinds = frozenset({SEND})

    def __init__(self) -> None:
        self._next_id = 0
        self._sent: dict[tuple[str, str, str], int] = {}  # (token, peer, random_id) -> id
        self._servers: dict[tuple[str, str], list[dict[str, Any]]] = {}

    def clear(self) -> None:
        self._next_id = 0
        self._sent.clear()
        self._servers.clear()

    def parse(self, request: HttpRequest) -> Call | None:
        if not request.path.startswith("/method/"):
            return None
        # VK reads the query string and a urlencoded form; a JSON body is not accepted.
        params: dict[str, Any] = {**request.query, **(request.form or {})}
        recipient = ""
        for key in _PEER_KEYS:
            if params.get(key):
                recipient = str(params[key])
                break
        kind = request.path[len("/method/") :]
        return Call(self.name, kind, str(params.get("access_token", "")), recipient, params)

    def unauthorized(self, call: Call) -> Answer:
        why = "invalid access_token (4)." if call.token else "no access_token passed."
        return vk_error(call, 5, f"User authorization failed: {why}")

    def rate_limited(self, call: Call, retry_after: int) -> Answer:
        return vk_error(call, 6, "Too many requests per second")  # recorded as 429

    def blocked(self, call: Call) -> Answer:
        return vk_error(call, 901, "Can't send messages for users without permission")

    def validate(self, call: Call) -> Answer | None:
        p = call.params
        if call.kind not in METHODS:
            return vk_error(call, 3, "Unknown method passed")
        if not p.get("v"):
            return vk_error(call, 8, "Invalid request: v (version) is required")
        if call.kind != SEND:
            return None
        if not call.recipient:
            return _missing(call, "you should specify peer_id, user_id, domain or chat_id")
        if not str(p.get("random_id", "")).lstrip("-").isdigit():
            return _missing(call, "random_id is a required parameter")
        if not (p.get("message") or p.get("attachment") or p.get("sticker_id")):
            return _missing(call, "message is empty or invalid")
        if len(str(p.get("message", ""))) > MAX_TEXT:
            return vk_error(call, 914, "Message is too long")
        if "keyboard" in p and not _valid_keyboard(p["keyboard"]):
            return vk_error(call, 911, "Keyboard format is invalid")
        return None

    def succeed(self, call: Call, is_blocked: IsBlocked) -> Answer:
        p = call.params
        if call.kind == SEND:
            return self._send(call)
        group = str(p.get("group_id", ""))
        servers = self._servers.setdefault((call.token, group), [])
        if call.kind == "groups.addCallbackServer":
            server = {"id": len(servers) + 1, "title": p.get("title", ""), "url": p.get("url", "")}
            servers.append({**server, "creator_id": 0, "secret_key": p.get("secret_key", "")})
            return Answer(200, {"response": {"server_id": server["id"]}})
        if call.kind == "groups.setCallbackSettings":
            return Answer(200, {"response": 1})
        if call.kind == "groups.getCallbackConfirmationCode":
            return Answer(200, {"response": {"code": "fakecode"}})
        return Answer(200, {"response": {"count": len(servers), "items": servers}})

    def _send(self, call: Call) -> Answer:
        # random_id makes messages.send idempotent per sender and peer: a retry of a send that
        # already went through gets the first message id back instead of a second message.
        # random_id=0 switches the check off.
        random_id = str(call.params["random_id"])
        key = (call.token, call.recipient, random_id)
        if random_id != "0" and key in self._sent:
            return Answer(200, {"response": self._sent[key]}, deduplicated=True)
        self._next_id += 1
        if random_id != "0":
            self._sent[key] = self._next_id
        return Answer(200, {"response": self._next_id})


def _valid_keyboard(raw: Any) -> bool:
    try:
        keyboard = json.loads(raw)
    except (TypeError, ValueError):
        return False
    if not isinstance(keyboard, dict) or not isinstance(keyboard.get("buttons"), list):
        return False
    return all(isinstance(row, list) for row in keyboard["buttons"])
